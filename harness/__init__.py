"""linkmatrix: which OpenTelemetry span-link features survive which tracing backend."""

import os

# Services are started with fork+exec while gRPC servers (the taps) run in this process; the
# children exec at once, so gRPC's fork handlers are not needed (and only print warnings).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

__version__ = "0.1.0"

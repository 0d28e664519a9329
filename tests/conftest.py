"""What the `linkmatrix` entry point sets for its process, set for the tests that run a matrix in
this one (see harness/__main__.py): before anything loads gRPC."""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

"""linkmatrix: which OpenTelemetry span-link features survive which tracing backend."""

__version__ = "0.1.0"

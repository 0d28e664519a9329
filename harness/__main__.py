"""`linkmatrix` and `python -m harness`: the process's one entry point."""

from __future__ import annotations

import os


def main() -> None:
    # Services are started with fork+exec while gRPC servers (the taps) run in this process; the
    # children exec at once, so gRPC's fork handlers are not needed (and only print warnings). Set
    # here, when the program starts, before anything loads gRPC: never when a module is imported.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    from .cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()

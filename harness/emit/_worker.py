"""Emit one scenario with another release of the OpenTelemetry Python SDK: run as
`python -m harness.emit._worker` by that release's own virtual environment (see
harness.toolchain.PythonSdk), with this source on PYTHONPATH.

It reads (scenario, run id, endpoint, pipeline) pickled on stdin and writes (the Emission, the
SDK version it ran) pickled on stdout: both processes run this same code, so the records are
the same classes. Nothing else is read or written.
"""

from __future__ import annotations

import pickle
import sys
from importlib import metadata


def main() -> None:
    scenario, run_id, endpoint, pipeline = pickle.load(sys.stdin.buffer)
    from ._sdk import emit

    emission = emit(scenario, run_id, endpoint, pipeline)
    pickle.dump((emission, metadata.version("opentelemetry-sdk")), sys.stdout.buffer)


if __name__ == "__main__":
    main()

"""requirements.lock: every dependency of pyproject.toml pinned there, within its range, with
hashes; and the report's record of the lock says when what is installed is not what it pins."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from harness.stack._versions import LOCKED, lock_version

ROOT = Path(__file__).resolve().parents[2]


def test_the_lock_pins_every_dependency_within_its_range() -> None:
    wanted = [Requirement(r) for r in metadata.requires("linkmatrix") or []]  # pyproject's, as installed
    assert any(r.name == "pytest" for r in wanted)  # the test extra is among them
    text = (ROOT / "requirements.lock").read_text()
    pinned = {name.lower().replace("_", "-"): version for name, version in LOCKED.findall(text)}
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), f"{name} {pinned[name]}"
    # an entry is its `name==version \` line and the indented lines after it, up to its `# via` comment
    entries = re.findall(r"^(\S+==\S+) \\\n((?:    --hash=sha256:\w+(?: \\)?\n)+)", text, re.MULTILINE)
    assert len(entries) == len(pinned), "an entry without hashes: `pip install --require-hashes` refuses it"


def test_the_record_names_the_lock_and_what_differs(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("pytest==0.0.1 \\\n    --hash=sha256:00\n")
    record = lock_version(lock)
    assert record.startswith("sha256:") and "installed differs: pytest" in record and "(locked 0.0.1)" in record
    assert lock_version(tmp_path / "missing.lock").startswith("none")

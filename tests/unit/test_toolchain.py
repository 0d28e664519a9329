"""The cache: a corrupt binary is found by its checksum and built again; a cache that cannot be
written is one line that says where and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import toolchain
from harness.errors import ToolchainError


def test_a_cached_binary_is_trusted_only_while_it_matches_its_checksum(tmp_path: Path) -> None:
    built, target = tmp_path / "work" / "built", tmp_path / "bin" / "tool-1.0"
    built.parent.mkdir()
    built.write_bytes(b"\x7fELF a real program")
    toolchain._install(built, target, built.parent)
    said: list[str] = []
    assert toolchain._cached(target, "tool", said.append) and said == []
    with open(target, "r+b") as binary:  # same size, one byte flipped
        binary.seek(3)
        binary.write(b"X")
    assert not toolchain._cached(target, "tool", said.append)
    assert "does not match the checksum recorded when it was built" in said[0]
    (target.with_name(target.name + ".sha256")).unlink()
    assert not toolchain._cached(target, "tool", said.append) and "has no recorded checksum" in said[1]


def test_a_cache_that_cannot_be_written_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LINKMATRIX_CACHE", str(blocker / "cache"))  # a folder inside a file: never writable
    with pytest.raises(ToolchainError) as caught:
        toolchain.ensure(["otelcol-linkmatrix"], report=lambda message: None)
    assert "cannot write the cache" in str(caught.value) and "LINKMATRIX_CACHE" in str(caught.value)
    assert "\n" not in str(caught.value)

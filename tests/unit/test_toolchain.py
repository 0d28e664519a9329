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


def test_a_jar_starts_from_its_class_archive_once_a_first_run_wrote_it_whole(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKMATRIX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("shutil.which", lambda name: str(tmp_path / "java"))
    (tmp_path / "java").write_text("")
    jar = tmp_path / "server.jar"
    jar.write_bytes(b"jar")
    options, after = toolchain.class_data_archive(jar)
    assert options[0].startswith("-XX:ArchiveClassesAtExit=") and after is not None
    after()  # killed before it wrote anything: nothing is kept, the next run tries again
    options, after = toolchain.class_data_archive(jar)
    assert options[0].startswith("-XX:ArchiveClassesAtExit=") and after is not None
    Path(options[0].split("=", 1)[1]).write_bytes(b"archive")  # the JVM wrote it as it exited
    after()
    options, after = toolchain.class_data_archive(jar)
    assert after is None and options == (f"-XX:SharedArchiveFile={next((tmp_path / 'cache' / 'cds').glob('*.jsa'))}",)
    jar.write_bytes(b"another jar")  # another build of the jar: another archive
    assert toolchain.class_data_archive(jar)[0][0].startswith("-XX:ArchiveClassesAtExit=")

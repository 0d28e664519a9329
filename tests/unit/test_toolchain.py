"""The cache: a corrupt binary is found by its checksum and built again; a cache that cannot be
written is one line that says where and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model._errors import ToolchainError
from harness.stack.toolchain import _builds as toolchain


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


def test_a_build_says_how_far_it_is_against_its_last_build_here(tmp_path: Path) -> None:
    assert toolchain.progress_line("building jaeger 2.13.0", 90, 200) == (
        "  … building jaeger 2.13.0 [##########..............] 1m30s of ~3m20s (its last build here)")
    assert "no earlier build here" in toolchain.progress_line("building jaeger 2.13.0", 5, None)
    clock = toolchain.BuildClock(tmp_path, "jaeger-2.13.0")
    assert clock.expected is None
    clock.done()
    assert toolchain.BuildClock(tmp_path, "jaeger-2.13.0").expected is not None  # the next build compares


def test_components_are_ensured_two_at_a_time_and_a_failure_is_raised_after_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    running, most = [0], [0]
    lock = threading.Lock()

    class Slow:
        def __init__(self, name: str, fails: bool = False) -> None:
            self.name, self.fails = name, fails

        def ensure(self, cache: Path, report: object) -> Path:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.2)
            with lock:
                running[0] -= 1
            if self.fails:
                raise ToolchainError(f"{self.name}: failed")
            return cache / self.name

    monkeypatch.setenv("LINKMATRIX_CACHE", str(tmp_path))
    monkeypatch.setattr(toolchain, "COMPONENTS", {n: Slow(n) for n in ("a", "b", "c")})
    assert toolchain.ensure() == {n: tmp_path / n for n in ("a", "b", "c")}
    assert most[0] == toolchain.BUILDS_AT_ONCE
    monkeypatch.setattr(toolchain, "COMPONENTS", {"a": Slow("a", fails=True), "b": Slow("b")})
    with pytest.raises(ToolchainError, match="a: failed"):
        toolchain.ensure()


def test_an_earlier_collector_release_is_the_same_manifest_with_every_module_at_that_release() -> None:
    pinned, earlier = toolchain.COLLECTOR, toolchain.COLLECTOR_PREVIOUS
    assert pinned._text() == (Path(toolchain.__file__).parent / pinned.manifest).read_text()
    old, new = pinned._manifest(), earlier._manifest()
    modules = [entry["gomod"] for kind in ("receivers", "processors", "exporters", "extensions") for entry in new[kind]]
    assert modules and all(module.endswith(f" v{earlier.version}") for module in modules)
    # the same components, in the same order: only the release differs
    assert [m.rsplit(" ", 1)[0] for m in modules] == [
        entry["gomod"].rsplit(" ", 1)[0] for kind in ("receivers", "processors", "exporters", "extensions")
        for entry in old[kind]]
    assert new["dist"]["version"] == earlier.version and new["dist"]["name"] == old["dist"]["name"]
    cache = Path("/cache")
    assert earlier.path(cache) != pinned.path(cache) and earlier.path(cache).name.startswith(
        f"otelcol-linkmatrix-{earlier.version}-")


def test_backends_gets_what_a_default_run_needs_and_all_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from harness.cli import cli
    asked: list[list[str]] = []

    def ensure_builds(builds: list[toolchain.Build], report: object = None) -> dict[toolchain.Build, Path]:
        asked.append([f"{build.name}@{build.version}" for build in builds])
        return {build: Path(build.name) for build in builds}

    from harness.stack import toolchain as toolchain_face  # what the CLI calls

    monkeypatch.setattr(toolchain_face, "ensure_builds", ensure_builds)
    shown = CliRunner().invoke(cli, ["backends"])
    assert shown.exit_code == 0 and "jaeger 2.12.0: jaeger" in shown.output
    assert CliRunner().invoke(cli, ["backends", "--all"]).exit_code == 0
    assert asked[0] == ["otelcol-linkmatrix@0.161.0", "jaeger@2.12.0", "zipkin@3.6.1"]
    # --all: every release and storage engine of the table, and every earlier collector and SDK
    assert {"jaeger@2.11.0", "zipkin@2.27.0", "opensearch@2.19.1", "elasticsearch@8.19.4", "python-sdk@1.22.0",
            "otelcol-linkmatrix@0.158.0"} <= set(asked[1])
    # what a default run starts is among the first: a first `make matrix` builds nothing more
    from harness.backends import BACKENDS
    default = {backend.build for backend in BACKENDS.values() if backend.default and backend.build is not None}
    assert {f"{build.name}@{build.version}" for build in default} <= set(asked[0])

"""`linkmatrix run | replay | capture | validate | list | backends` — the Makefile calls these."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
from rich.console import Console
from rich.markup import escape

from . import __version__
from .backends import BACKENDS, Plan, default_builds, default_look_alikes, every_build
from .backends import plan as plan_run
from .model import FEATURES, LinkmatrixError, UsageError, Variant, jsonio
from .report import candidates as run_candidates
from .report import load_report
from .report.candidates import CANDIDATE_REGRESSED
from .scenario import is_capture, load_all
from .stack import toolchain, variants

if TYPE_CHECKING:
    from .model import RunResult, Scenario
    from .report.diff import Diff
    from .report.waivers import Waiver
    from .run import RunSettings

DEFAULT_SCENARIOS = "scenarios"
DEFAULT_REPORTS = "reports"

console = Console(stderr=True, highlight=False)


def _terminate(signum: int, _frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C does, so every `finally` stops what it started.
    raise SystemExit(128 + signum)


def _install_signal_handlers() -> None:
    # Set SIGINT explicitly: a process started in the background by a script inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)


def _progress(started: float) -> Callable[[str], None]:
    def notify(message: str) -> None:  # messages hold [brackets] (field paths): never markup
        console.print(f"[dim]{time.monotonic() - started:6.1f}s[/] {escape(message)}", soft_wrap=True)
    return notify


def _seconds(context: click.Context, parameter: click.Parameter, value: float) -> float:
    """A deadline: a finite number of seconds above zero, at most a day."""
    if not math.isfinite(value) or not 0 < value <= 86400:
        raise UsageError(f"{parameter.opts[0]} {value}: give a number of seconds above 0 and at most 86400")
    return value


@click.group()
@click.version_option(__version__, prog_name="linkmatrix")
def cli() -> None:
    """Which OpenTelemetry span-link features survive a real Collector and real tracing backends?"""


@cli.command()
@click.argument("scenarios", nargs=-1, type=click.Path(path_type=Path))
@click.option("--reports", "reports_dir", default=DEFAULT_REPORTS, show_default=True, type=click.Path(path_type=Path),
              help="Where run folders go; `latest` points at the newest.")
@click.option("--backend", "backends", multiple=True, type=click.Choice(sorted(BACKENDS)),
              help="Only these backends (repeatable). Default: all.")
@click.option("--timeout", "visibility_timeout", default=60.0, show_default=True, callback=_seconds,
              help="Seconds each read path may take to show every span.")
@click.option("--runtime", type=click.Choice(["auto", "local", "docker", "external"]), default="auto",
              envvar="LINKMATRIX_RUNTIME", show_default=True,
              help="auto: docker when a Docker daemon answers, else local processes.")
@click.option("--network-mode", type=click.Choice(["host", "network"]), default="host",
              envvar="LINKMATRIX_NETWORK_MODE", show_default=True,
              help="docker: host networking (Linux) or a network of its own with aliases (Docker Desktop).")
@click.option("--image", "images", multiple=True, metavar="NAME=REF",
              help="docker: run NAME (collector, jaeger, tempo, zipkin) from image REF (repeatable; "
                   "or LINKMATRIX_IMAGE_<NAME>).")
@click.option("--local-images", is_flag=True, envvar="LINKMATRIX_LOCAL_IMAGES",
              help="docker: build (once) and run local look-alikes of the official images of the pinned "
                   "collector, Jaeger and Zipkin instead of pulling the official ones.")
@click.option("--jaeger-ui-assets", type=click.Path(exists=True, file_okay=False, path_type=Path),
              envvar="LINKMATRIX_JAEGER_UI_ASSETS",
              help="local: a folder of built Jaeger UI assets for Jaeger to serve (one built from the Go module "
                   "proxy serves a placeholder page), so that its UI is rendered.")
@click.option("--pipelines", "pipeline_choice", default="default", show_default=True, envvar="LINKMATRIX_PIPELINES",
              help="Collector pipeline variants: default, all, or names separated by commas (see pipelines.yaml).")
@click.option("--storages", "storage_choice", default="default", show_default=True, envvar="LINKMATRIX_STORAGES",
              help="Jaeger storages beside the in-memory one: default (none), all, or names separated by commas "
                   "(badger, opensearch, elasticsearch); each is a backend `jaeger-<name>`.")
@click.option("--versions", "version_choice", default="default", show_default=True, envvar="LINKMATRIX_VERSIONS",
              help="Earlier releases beside the pinned ones: default (none), all, or backend names separated by "
                   "commas (jaeger-2.11.0, zipkin-2.27.0, python-sdk-1.22.0, otelcol-0.158.0); their changed cells "
                   "are set side by side in the report.")
@click.option("--shard", default=None, metavar="I/N",
              help="Run only shard I of N of the scenarios (every N-th in name order), for a catalog split "
                   "across machines; `linkmatrix merge` joins the reports.")
@click.option("--baseline", type=click.Path(path_type=Path), default=None,
              help="A matrix.json to compare with: the run's cells that got worse are listed, and the exit code "
                   "is 3 when any did, 4 when none did but some could not be measured (see `linkmatrix diff`).")
@click.option("--waivers", type=click.Path(path_type=Path), default=None,
              help="With --baseline: a waivers file (cell patterns, reason, expiry date); a regression a waiver "
                   "matches is a warning until the waiver expires.")
@click.option("--pipelines-file", type=click.Path(path_type=Path), default=None,
              help="The variants file (default: pipelines.yaml here; without one, the plain pipeline only).")
@click.option("--external", "externals", multiple=True, metavar="NAME=ENDPOINTS",
              help="external: where NAME runs, e.g. jaeger=http://127.0.0.1:16686,otlp=127.0.0.1:14317 "
                   "or collector=127.0.0.1:4317 (defaults: the compose stack).")
@click.option("--stack", "stack_path", type=click.Path(path_type=Path), default=None, envvar="LINKMATRIX_STACK",
              help="A stack file (linkmatrix.stack.yaml): the components your team runs, each with its version, "
                   "image or binary; the backends it lists replace the pinned ones.")
@click.option("--candidate", "candidate_texts", multiple=True, metavar="COMPONENT=VERSION",
              envvar="LINKMATRIX_CANDIDATES",
              help="Run this release of a component beside the current one (repeatable), e.g. jaeger=2.14.0; "
                   f"exit {CANDIDATE_REGRESSED} when it lost or degraded a cell the current release kept.")
@click.option("--collector-config", "collector_config", type=click.Path(path_type=Path), default=None,
              envvar="LINKMATRIX_COLLECTOR_CONFIG",
              help="Your collector's config: the processors of its traces pipeline run, as they are, as a pipeline "
                   "named after the file (beside the plain one); its receivers and exporters are not used.")
@click.option("--redact", is_flag=True,
              help="Reports fit to paste into an issue tracker: every string attribute value of a replayed capture "
                   "is replaced by its type and length in every file of the run folder (keys and verdicts kept; "
                   "screenshots removed).")
def run(scenarios: tuple[Path, ...], reports_dir: Path, backends: tuple[str, ...], visibility_timeout: float,
        runtime: str, network_mode: str, images: tuple[str, ...], local_images: bool,
        jaeger_ui_assets: Path | None, pipeline_choice: str, storage_choice: str, version_choice: str,
        pipelines_file: Path | None, shard: str | None, baseline: Path | None, waivers: Path | None,
        externals: tuple[str, ...], stack_path: Path | None, candidate_texts: tuple[str, ...],
        collector_config: Path | None, redact: bool) -> None:
    """Run scenarios (files or folders; default: scenarios/) and write the matrix."""
    from .report import to_document
    from .run import RunSettings, empty_run

    loaded = load_all(scenarios or [DEFAULT_SCENARIOS])  # validate everything before starting anything
    from .report import diff as run_diff
    from .report.merge import parse_shard, shard_of

    empty = ""  # why nothing is run
    if shard:
        catalog, chosen_shard = len(loaded), parse_shard(shard)
        loaded = shard_of(loaded, lambda scenario: scenario.name, chosen_shard)
        if not loaded:  # a CI matrix with more shards than scenarios: a valid run, with no cells
            empty = (f"shard {shard} has no scenario ({catalog} scenario(s) in {chosen_shard[1]:,} shards): "
                     "nothing was run")
    baseline_document = load_report(baseline) if baseline else None
    waived = _waivers(waivers, baseline)
    chosen_variants = variants.select(variants.available(pipelines_file), pipeline_choice)
    chosen_variants += _release_variants(version_choice, chosen_variants)
    planned = _plan(stack_path, candidate_texts, chosen_variants, _default_backends(storage_choice, version_choice),
                    collector_config)
    # What the user gives a backend travels with the run's settings, to the copy of it the run starts.
    options = {**planned.options,
               **({"jaeger": {"ui_assets": str(jaeger_ui_assets.resolve())}} if jaeger_ui_assets else {})}
    overrides, endpoints = {**planned.images, **_pairs(images, "--image")}, _pairs(externals, "--external")
    chosen_backends = backends or tuple(planned.backends)
    started = time.monotonic()
    notify = _progress(started)
    notify(empty or f"{len(loaded)} scenario(s): {', '.join(s.name for s in loaded)}")
    for note in planned.notes:
        notify(note)
    _writable_folder(reports_dir, "--reports")
    if empty:
        result = empty_run(reports_dir, runtime, planned.variants, empty)
    else:
        result = _measure(RunSettings(scenarios=loaded, reports_dir=reports_dir, backends=list(chosen_backends),
                                      visibility_timeout=visibility_timeout, runtime=runtime,
                                      network_mode=network_mode, images=overrides, external=endpoints,
                                      variants=planned.variants, backend_options=options, table=planned.table,
                                      stack=planned.record),
                          backends, local_images, notify)
    compared = run_diff.compare(baseline_document, to_document(result), waived) if baseline_document else None
    sys.exit(_tell(result, reports_dir, compared, baseline, notify, loaded if redact else None))


def _tell(result: RunResult, reports_dir: Path, compared: Diff | None, baseline: Path | None,
          notify: Callable[[str], None], redact_from: list[Scenario] | None = None) -> int:
    """The run's reports written (the captures' values of `redact_from` redacted), the matrix and
    what changed on the terminal; the exit code."""
    from .report import to_document, write, write_whole
    from .report.terminal import print_matrix

    try:
        paths = write(result, reports_dir, compared)
        notify(f"wrote {paths['markdown']} and {paths['json']}, and for CI {paths['junit'].name} and "
               f"{paths['summary'].name} (also {reports_dir / 'latest'})")
    except OSError as error:  # a full disk: the matrix still reaches the terminal
        result.problems.append(f"could not write the report into {result.run_dir}: {error.strerror or error}")
    # Wide when piped (CI logs, files): Rich would otherwise squeeze the table into 80 columns.
    print_matrix(to_document(result), Console(highlight=False, width=None if sys.stdout.isatty() else 160))
    if compared is not None:
        _print_diff(compared, f"against {baseline}")
        with contextlib.suppress(OSError):  # the comparison reached the terminal either way
            write_whole(result.run_dir / "diff.json", jsonio.dumps(compared.to_json(), indent=2))
    if redact_from is not None:
        _redact(result, redact_from, notify)
    beside = run_candidates.compare(to_document(result))
    if beside is not None:
        _print_candidates(beside)
    if result.problems:
        for problem in result.problems:
            console.print(f"[yellow]problem:[/] {escape((problem.splitlines() or [''])[0])}")
    return _exit_code(compared, beside, bool(result.problems))


def _redact(result: RunResult, loaded: list[Scenario], notify: Callable[[str], None]) -> None:
    """Take the captures' attribute values out of every file the run wrote (the terminal keeps them)."""
    from .report import redact_folder
    from .scenario import attribute_texts

    values = {value for scenario in loaded if scenario.is_capture for value in attribute_texts(scenario)}
    try:
        notify(redact_folder(result.run_dir, values).line())
    except OSError as error:  # a folder half redacted must not be taken for a redacted one
        result.problems.append(f"could not redact {result.run_dir}: {error.strerror or error} — do not share it")


def _exit_code(compared: Diff | None, beside: run_candidates.Comparison | None, problems: bool) -> int:
    """3 (regressed against the baseline) wins over 5 (a candidate lost what the current release
    kept), which wins over 4 (could not measure) and 1 (a problem of the run)."""
    if compared is not None and compared.exit_code == 3:
        return 3
    if beside is not None and beside.regressed:
        return CANDIDATE_REGRESSED
    if compared is not None and compared.exit_code:
        return compared.exit_code
    return 1 if problems else 0


def _print_candidates(beside: run_candidates.Comparison) -> None:
    console.print("[bold]candidates beside the current releases[/]")
    for line in beside.lines() or ["candidate: no cell the current release kept was lost or degraded"]:
        console.print(f"[{'red' if line.startswith('candidate regressed') else 'default'}]{escape(line)}[/]",
                      soft_wrap=True)


def _plan(stack_path: Path | None, candidate_texts: tuple[str, ...], chosen: list[Variant],
          default_backends: tuple[str, ...], collector_config: Path | None = None) -> Plan:
    """The stack file, the candidates and the collector config, read and checked before anything
    starts (one line, exit 2)."""
    from .backends import load_stack_file, parse_candidate
    from .stack import collector_config_variant

    stack_file = load_stack_file(stack_path, toolchain.built_processors()) if stack_path else None
    candidates = [parse_candidate(text) for text in candidate_texts]
    own = None
    if collector_config is not None:
        # A collector the stack file gives as an image is not the one built here: its processors are not checked.
        given = stack_file.given("collector") if stack_file else None
        built = None if given is not None and given.image else toolchain.built_processors()
        own = collector_config_variant(collector_config, built, "--collector-config")
    return plan_run(stack_file, candidates, chosen, list(default_backends), own)


def _replay(context: click.Context, **options: object) -> None:
    files = cast("tuple[Path, ...]", options["scenarios"])
    for file in files:
        if not is_capture(file):
            raise UsageError(f"replay {file}: not a capture (*.jsonl: OTLP JSON lines; *.json: a trace as Jaeger's "
                             "/api/v3 or Tempo's /api/traces answer it); scenario files go to `linkmatrix run`")
    context.invoke(run, **options)


# `replay` is `run` for captures: the same options, and at least one file.
replay = click.Command(
    "replay", callback=click.pass_context(_replay),
    params=[click.Argument(["scenarios"], nargs=-1, required=True, type=click.Path(path_type=Path)),
            *(param for param in run.params if param.name != "scenarios")],
    help="Replay captures (OTLP JSON lines, as `linkmatrix capture` and the collector's `file` exporter write "
         "them, or one trace as Jaeger's /api/v3 or Tempo's /api/traces answer it) through the collector into "
         "every backend, ids minted afresh and times moved to now, and write the matrix.")
cli.add_command(replay)


_DURATION = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<unit>ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(context: click.Context, parameter: click.Parameter, value: str | None) -> float | None:
    """`30s`, `2m`, `1h` or a number of seconds."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    seconds = float(match["number"]) * _UNIT_SECONDS[match["unit"] or "s"] if match else 0.0
    if not 0 < seconds <= 86400:
        raise UsageError(f"--for {value}: write a duration above 0 and at most a day, e.g. 30s, 2m, 1h")
    return seconds


@cli.command()
@click.argument("output", default="capture.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grpc-port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="OTLP/gRPC port on 127.0.0.1 (0: a free one, said when it starts).")
@click.option("--http-port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="OTLP/HTTP port on 127.0.0.1 (0: a free one, said when it starts).")
@click.option("--for", "duration", default=None, callback=_duration, metavar="DURATION",
              help="Stop after this long (30s, 2m, 1h); without it, at Ctrl-C.")
def capture(output: Path, grpc_port: int, http_port: int, duration: float | None) -> None:
    """Receive OTLP traces from your service (gRPC and HTTP, on 127.0.0.1) and write them to OUTPUT as
    OTLP JSON lines (the collector's `file` exporter format) until Ctrl-C or --for; then
    `linkmatrix replay OUTPUT` shows where each of your links survives."""
    from .emit import Capture

    _writable_folder(output.resolve().parent, "capture OUTPUT")
    try:
        receiver = Capture(output, grpc_port, http_port)
    except (RuntimeError, OSError) as error:  # a port given that something else holds
        raise UsageError(f"capture: cannot listen on 127.0.0.1 (--grpc-port {grpc_port}, --http-port {http_port}): "
                         f"{error}; give free ports, or 0 for free ones") from None
    notify = _progress(time.monotonic())
    ends = time.monotonic() + duration if duration else math.inf
    with receiver:
        notify(f"receiving OTLP: gRPC {receiver.grpc.address}, HTTP http://{receiver.http.address}/v1/traces "
               f"(e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://{receiver.grpc.address} with the gRPC exporter); "
               f"writing {output} until " + (f"{duration:g}s have passed" if duration else "Ctrl-C"))
        shown = (-1, -1)
        try:
            while time.monotonic() < ends:
                counts = receiver.poll(notify)
                if counts != shown:  # a line when something arrived, not every tick
                    notify(f"{counts[0]:,} span(s), {counts[1]:,} link(s) so far")
                    shown = counts
                time.sleep(min(0.5, max(0.0, ends - time.monotonic())))
        except KeyboardInterrupt:  # the usual way to end a capture: what arrived is kept
            pass
    ignored = f"; {receiver.ignored} request(s) that were not traces left out" if receiver.ignored else ""
    then = (f"replay it with `linkmatrix replay {output}`" if receiver.spans
            else "nothing arrived: point your service's OTLP exporter at the addresses above")
    notify(f"wrote {output}: {receiver.spans:,} span(s), {receiver.links:,} link(s) in {receiver.requests:,} "
           f"request(s){ignored}; {then}")


def _measure(asked: RunSettings, named: tuple[str, ...], local_images: bool,
             notify: Callable[[str], None]) -> RunResult:
    """Choose the runtime for the backends asked for (those `named` must be able to run), then run the matrix."""
    from .run import run_matrix
    from .stack import choose_runtime, image_for

    overrides = asked.images
    images = [image_for("collector", overrides)]
    for name in asked.backends or []:
        backend = asked.table[name]
        if not backend.unavailable("docker"):
            images += [image_for(name, overrides, default=backend.image),
                       *(image_for(need.name, overrides, default=need.image) for need in backend.needs)]
    chosen, why = choose_runtime(asked.runtime, images)
    for name in named:  # asked for by name: it must be able to run
        reason = asked.table[name].unavailable(chosen)
        if reason:
            raise UsageError(f"--backend {name}: {reason}")
    if local_images and chosen == "docker":
        from .stack import build_local_images

        overrides = {**build_local_images(default_look_alikes(), report=notify), **overrides}
    return run_matrix(dataclasses.replace(asked, runtime=chosen, runtime_reason=why, images=overrides), notify)


def _waivers(waivers: Path | None, baseline: Path | None) -> list[Waiver] | None:
    """The waivers of --waivers (read before anything starts), which only mean something against a baseline."""
    if waivers is None:
        return None
    if baseline is None:
        raise UsageError("--waivers: give --baseline too (a waiver turns a regression against it into a warning)")
    from .report.waivers import load_waivers

    return load_waivers(waivers)


DIFF_COLOURS = {"regressed": "red", "could not measure": "magenta", "waived": "yellow", "expired waiver": "yellow",
                "improved": "green"}


def _print_diff(compared: Diff, against: str) -> None:
    console.print(f"[bold]cells {escape(against)}[/]")
    for line in compared.lines():
        colour = DIFF_COLOURS.get(line.split(":", 1)[0], "default")
        console.print(f"[{colour}]{escape(line)}[/]", soft_wrap=True)


@cli.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--reports", "reports_dir", default="reports-merged", show_default=True,
              type=click.Path(path_type=Path), help="Where the merged report's folder goes; `latest` points at it.")
@click.option("--rerun", "reruns", multiple=True, type=click.Path(path_type=Path),
              help="The matrix.json of scenarios run again (those with error cells): its cells replace the same "
                   "cells of the shards (repeatable).")
@click.option("--baseline", type=click.Path(path_type=Path), default=None,
              help="A matrix.json to compare the merged report with, as `run --baseline` does (diff.json, exit 3/4).")
@click.option("--waivers", type=click.Path(path_type=Path), default=None,
              help="With --baseline: a waivers file that turns matching regressions into warnings until they expire.")
def merge(reports: tuple[Path, ...], reports_dir: Path, reruns: tuple[Path, ...], baseline: Path | None,
          waivers: Path | None) -> None:
    """Join the matrix.json of shards (`run --shard I/N`) into one report (matrix.json, matrix.md,
    matrix.html, junit.xml, summary.md) with every shard's evidence under shards/<run id>/."""
    from .report import diff as run_diff
    from .report import point_latest, validate, write_document
    from .report.merge import carry_evidence
    from .report.merge import merge as join

    documents = [load_report(path) for path in reports]
    again = [load_report(path) for path in reruns]
    baseline_document = load_report(baseline) if baseline else None
    waived = _waivers(waivers, baseline)
    document = join(documents, [str(path) for path in reports], list(zip(again, map(str, reruns), strict=True)))
    validate(document)
    compared = run_diff.compare(baseline_document, document, waived) if baseline_document else None
    _writable_folder(reports_dir, "--reports")
    run_dir = reports_dir / f"merged-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        left_out = carry_evidence([(path.resolve().parent, report) for path, report in
                                   zip([*reports, *reruns], [*documents, *again], strict=True)], run_dir)
        paths = write_document(document, run_dir, compared)
        if compared is not None:
            from .report import write_whole

            write_whole(run_dir / "diff.json", jsonio.dumps(compared.to_json(), indent=2))
    except OSError as error:  # a full disk: no half report, one line
        raise LinkmatrixError(f"could not write the merged report into {run_dir}: {error.strerror or error}") from None
    left = point_latest(reports_dir, run_dir)
    for path in left_out:
        console.print(f"[yellow]not carried (cannot be read):[/] {escape(path)}")
    console.print(f"merged {len(documents)} report(s){f' and {len(again)} re-run(s)' if again else ''}, "
                  f"{len(document['cells'])} cells: {paths['json']}" + (f" ({left})" if left else ""))
    if compared is not None:
        _print_diff(compared, f"against {baseline}")
        sys.exit(compared.exit_code)


@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write the comparison as JSON here.")
@click.option("--waivers", type=click.Path(path_type=Path), default=None,
              help="A waivers file (cell patterns, reason, expiry date): a regression a waiver matches is a "
                   "warning until the waiver expires; an expired waiver is said and waives nothing.")
def diff(old: Path, new: Path, json_out: Path | None, waivers: Path | None) -> None:
    """Compare two matrix.json cell by cell. Exit 0 when nothing got worse, 3 when a cell regressed
    (preserved → degraded/lost, degraded → lost) and no waiver covers it, 4 when nothing regressed but
    the new run has cells that could not be measured (error); improvements never fail."""
    from .report import diff as run_diff

    compared = run_diff.compare(load_report(old), load_report(new), _waivers(waivers, old))
    _print_diff(compared, f"{old} → {new}")
    if json_out:
        from .report import write_whole

        try:
            write_whole(json_out, jsonio.dumps(compared.to_json(), indent=2))
        except OSError as error:
            raise LinkmatrixError(f"--json {json_out}: cannot write it ({error.strerror or error})") from None
    sys.exit(compared.exit_code)


def _choice(choice: str, known: list[str], option: str) -> list[str]:
    """default (none), all, or names separated by commas, each one of `known`."""
    names = known if choice == "all" else [] if choice == "default" else [
        name.strip() for name in choice.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"{option}: no {unknown[0]!r} (there are: {', '.join(known)})")
    return names


def _release_variants(version_choice: str, chosen: list[Variant]) -> list[Variant]:
    """Earlier SDK and collector releases asked for with --versions: an earlier SDK emits on the
    plain pipeline; an earlier collector runs every collector variant chosen (a pipeline each)."""
    wanted = _choice(version_choice, _releases(), "--versions")
    return [*(variants.sdk_release(toolchain.version_key(release), release.version)
              for name, release in toolchain.SDK_RELEASES.items() if name in wanted),
            *(variants.collector_release(toolchain.version_key(release), release.version, variant)
              for name, release in toolchain.COLLECTOR_RELEASES.items() if name in wanted
              for variant in chosen if variants.runs_on_release(variant))]


def _releases() -> list[str]:
    """Every earlier release --versions can name: backends, then SDKs, then collectors."""
    return [*(name for name, backend in BACKENDS.items() if backend.release), *toolchain.SDK_RELEASES,
            *toolchain.COLLECTOR_RELEASES]


def _default_backends(storage_choice: str, version_choice: str = "default") -> tuple[str, ...]:
    """Every backend of a default run, Jaeger on each storage asked for, and each earlier release asked for."""
    from .backends import JAEGER_IN_MEMORY, JAEGER_STORAGES

    storages = [f"jaeger-{name}" for name in _choice(storage_choice, list(JAEGER_STORAGES), "--storages")
                if name != JAEGER_IN_MEMORY.name]
    versions = [name for name in _choice(version_choice, _releases(), "--versions") if name in BACKENDS]
    return (*(name for name, backend in BACKENDS.items() if backend.default), *storages, *versions)


def _writable_folder(folder: Path, option: str) -> None:
    """Make `folder` (and check it takes files) before anything starts: one line if it cannot."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".linkmatrix-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        what = "a broken link" if folder.is_symlink() else "a file, not a folder"
        raise UsageError(f"{option} {folder}: is {what}; name a folder for the run reports") from None
    except OSError as error:
        raise UsageError(f"{option} {folder}: cannot write there ({error.strerror or error}); "
                         "name a writable folder") from None


ENDPOINT_FORMS = {"collector": re.compile(r"^[^\s:/]+:\d+$"),
                  "backend": re.compile(r"^https?://[^\s/:]+(:\d+)?(,otlp=[^\s:/]+:\d+)?$")}


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or name not in ("collector", *BACKENDS):
            raise UsageError(f"{option} {value!r}: write NAME=VALUE with NAME one of collector, {', '.join(BACKENDS)}")
        form = ENDPOINT_FORMS["collector" if name == "collector" else "backend"]
        if option == "--external" and not form.match(rest):
            example = "HOST:PORT" if name == "collector" else "http://HOST:PORT[,otlp=HOST:PORT]"
            raise UsageError(f"{option} {value!r}: {name} is written {name}={example}")
        pairs[name] = rest
    return pairs


@cli.command()
@click.argument("scenarios", nargs=-1, type=click.Path(path_type=Path))
def validate(scenarios: tuple[Path, ...]) -> None:
    """Check scenario files without running anything."""
    for scenario in load_all(scenarios or [DEFAULT_SCENARIOS]):
        click.echo(f"ok  {scenario.path}  ({scenario.name})")


@cli.command(name="list")
@click.argument("scenarios", nargs=-1, type=click.Path(path_type=Path))
def list_(scenarios: tuple[Path, ...]) -> None:
    """List scenarios, features and backend read paths."""
    click.echo("scenarios:")
    for scenario in load_all(scenarios or [DEFAULT_SCENARIOS]):
        click.echo(f"  {scenario.name:28} {scenario.problem.splitlines()[0][:90]}")
    click.echo("features:")
    for feature in FEATURES.values():
        click.echo(f"  {feature.id:28} {feature.question}")
    click.echo("read paths:")
    for adapter in BACKENDS.values():
        for path in adapter.read_paths:
            cannot = f"  (cannot carry: {', '.join(sorted(path.cannot_carry))})" if path.cannot_carry else ""
            click.echo(f"  {path.id:28} {path.label}{cannot}")


@cli.command()
@click.option("--all", "everything", is_flag=True,
              help="Also every earlier release, storage and SDK the versions table lists (what --versions all "
                   "and --storages all need; the tests need them all).")
def backends(everything: bool) -> None:
    """Fetch or build the pinned collector, Jaeger and Zipkin into the cache (seconds when cached);
    a run builds what else it is asked for when it needs it."""
    notify = _progress(time.monotonic())
    notify(f"cache: {toolchain.cache_dir()}")
    wanted = [toolchain.COLLECTOR, *default_builds().values()]
    if everything:
        wanted += [*every_build(), *toolchain.COMPONENTS.values()]
    for build, path in toolchain.ensure_builds(wanted, report=notify).items():
        notify(f"{build.name} {build.version}: {path}")


@cli.command(name="browser")
def browser_() -> None:
    """Find the browser the render columns need, or obtain one: Playwright's own download
    (`playwright install chromium`), else Debian's `chromium` package (apt-get, as root). One line
    says which; where none can be had it says so and exits 0 (a run then measures every API column
    and lists the render columns as not measured)."""
    from .stack import BrowserUnavailableError, obtain

    notify = _progress(time.monotonic())
    try:
        notify(obtain(notify).line())
    except BrowserUnavailableError as none:
        notify(f"browser: none could be had — {none}. The render columns will be listed as not measured.")


@cli.command()
@click.option("--output", default="compose", show_default=True, type=click.Path(path_type=Path))
def compose(output: Path) -> None:
    """Write the compose stack (same pinned images, generated configs) to compose/."""
    from .backends import write_compose

    for path in write_compose(output):
        click.echo(f"wrote {path}")


@cli.command()
def images() -> None:
    """Build local look-alikes of the official images of the pinned collector, Jaeger and Zipkin for
    the docker runtime, where those cannot be pulled (same user, entrypoint, paths, ports and health
    check; only the binary's origin differs); prints the overrides to use."""
    from .stack import build_local_images, daemon_answers

    problem = daemon_answers()
    if problem:
        raise UsageError(f"images: {problem}")
    notify = _progress(time.monotonic())
    for name, reference in build_local_images(default_look_alikes(), report=notify).items():
        click.echo(f"LINKMATRIX_IMAGE_{name.upper()}={reference}")


INTERRUPTED = "interrupted: every service this run started has been stopped"


def main() -> None:
    _install_signal_handlers()
    try:
        cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        console.print(INTERRUPTED)
        sys.exit(130)
    except SystemExit as stop:
        if stop.code == 128 + signal.SIGTERM:  # raised by _terminate, once everything has unwound
            console.print(INTERRUPTED.replace("interrupted", "terminated"))
        raise
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except LinkmatrixError as error:
        console.print(f"[red]error:[/] {escape(str(error))}", soft_wrap=True)
        sys.exit(error.exit_code)

"""What every backend adapter provides, and the read paths it declares.

An adapter is one module and one entry in `backends.BACKENDS`. It declares its service (what to
run, its ports inside a container network and where a person reaches it), how the collector
sends to it and the tap that records what the collector sent, and its read paths:

- a `TraceReadPath` turns one answer for a trace id into normalized spans ("not found yet" is an
  empty answer, never an exception; the run polls until the expected spans are there) and says
  which link fields it cannot carry at all;
- a `SearchReadPath` asks the backend's search for the linking span by what its link carries.

Every request of a run goes through one `Http` (stack: one session, one status and JSON handling), the
seam tests replace.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..emit import HttpPostTap, otlp_http_decoder
from ..model import Advice, HttpClient, ReadPath, Span, UsageError
from .runtime._base import Component, Readiness, Service, ServiceSpec
from .toolchain._builds import Build
from .toolchain._images import LookAlike

if TYPE_CHECKING:
    from ._stackfile import Given, StackFile


class Tap(Protocol):
    """A recording pass-through in front of a backend (see harness.taps)."""

    address: str  # "127.0.0.1:port": where the collector sends instead of the backend
    errors: list[str]

    def __enter__(self) -> Tap: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def spans(self) -> list[Span]: ...

    def refusals(self) -> dict[tuple[str, str], str]: ...

    def undelivered(self) -> dict[tuple[str, str], str]: ...

    def save(self, path: Path) -> None: ...


@dataclass(frozen=True)
class StackChoice:
    """What a stack file's entry makes of a backend: the backend the run runs under its usual name,
    the images the docker runtime then runs (service → image), and what the user gave it (None:
    nothing the backend keeps as options)."""

    backend: Backend
    images: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] | None = None


class Backend:
    """The adapter every backend module fills in (and one entry in backends.BACKENDS)."""

    name: str
    title: str
    build: Build | None  # what the local runtime fetches or builds to run it; None: the user provides it
    image: str = ""  # its official image at its release, which the docker runtime runs ("": none)
    ports: tuple[str, ...]
    container_ports: dict[str, int]  # its usual ports inside a container network (compose)
    published_ports: dict[str, int]  # where a person reaches it on 127.0.0.1 (compose, external defaults)
    probe: Readiness  # on a published port: is an instance someone else runs ready?
    read_paths: tuple[ReadPath, ...]
    query_port: str = "http"  # the port its read paths use
    ingest_port: str = "otlp_grpc"  # the port the collector sends to
    otlp_port: str | None = "otlp_grpc"  # its own OTLP/gRPC receiver (the direct pipeline); None: none
    otlp_http_port: str | None = None  # its own OTLP/HTTP receiver (the collector's otlp_http exporter); None: none
    # Why one read suffices, or how its fresh and settled reads differ (shown in the report).
    data_age: str = ""
    container_data_dir: str | None = None  # where it keeps data inside its image (compose gives it a volume)
    # Seconds after a trace's last span arrives during which its "fresh" read paths show the fresh
    # form (None: no fresh form, or no bound known); a fresh read finished later is not measured.
    fresh_for: float | None = None
    family: str = ""  # backends of one family at different versions are compared (e.g. zipkin, zipkin-2.27.0)
    release: str = ""  # an earlier release than the pinned one, to compare with ("": the pinned one)
    default: bool = True  # in a run that names no backends (False: only when asked for, e.g. --storages)
    needs: tuple[Component, ...] = ()  # services that must run first (a storage's search engine)
    # Where the SDK's own Zipkin exporter sends (the `sdk-zipkin` pipeline): one backend, whose
    # egress tap also decodes what that exporter writes.
    takes_sdk_zipkin: bool = False
    # What the reports say of it, in its adapter's words (the report carries them: see `notes`).
    kept_on: str = ""  # a storage variant's store, named for people ("Badger"); "": its usual store
    variant_of: str = ""  # the backend this one is a storage variant of (its column folds this one in)
    advice: tuple[Advice, ...] = ()  # losses its cells may show: their lines, and the settings that avoid them
    to_measure: str = ""  # what would measure its UI, where a run has no render column for it
    # Set only on the copy a run starts (`configured`), never on the table's own entry:
    peers: Mapping[str, str] = MappingProxyType({})  # what it needs, once running: name → "host:port"
    options: Mapping[str, str] = MappingProxyType({})  # what the user gave it (e.g. Jaeger's ui_assets)

    def configured(self, *, peers: Mapping[str, str] | None = None,
                   options: Mapping[str, str] | None = None) -> Backend:
        """This backend for one run: a copy that knows its running peers and the user's options (the
        table's entry stays as it is, so no run leaves anything on it for the next)."""
        copied = copy.copy(self)
        if peers is not None:
            copied.peers = MappingProxyType(dict(peers))
        if options is not None:
            copied.options = MappingProxyType(dict(options))
        return copied

    def notes(self) -> dict[str, Any]:
        """What the report keeps of this backend, so that the pages and the findings speak of it
        without knowing it (report: `run.backends`)."""
        said = {"title": self.title, "kept_on": self.kept_on, "variant_of": self.variant_of,
                "advice": [advice.to_json() for advice in self.advice], "to_measure": self.to_measure}
        return {key: value for key, value in said.items() if value}

    def stack_entry_problem(self, given: Given) -> tuple[str, str] | None:
        """What is wrong with a stack file's entry for it that the file's schema cannot say: (the
        entry's key, why); None: nothing."""
        return None

    def as_given(self, given: Given, stack: StackFile, table: Mapping[str, Backend]) -> StackChoice:
        """This backend as a stack file's entry gives it (its release, its image): the team's own,
        the current one, under its usual name; `table` holds the backends it may choose from."""
        backend = self.at_release(given.version, current=True) if given.version else self
        return StackChoice(backend, {backend.name: given.image} if given.image else {})

    def at_release(self, version: str, current: bool) -> Backend:
        """This backend at another release, built or fetched the way the pinned one is (a stack file's
        release, a candidate); `current`: the release others are compared with, named as the pinned one."""
        raise UsageError(f"{self.title}: linkmatrix cannot build other releases of it; give its image or binary")

    def look_alike(self) -> LookAlike | None:
        """How a look-alike of its official image is made from what linkmatrix builds (the docker
        runtime's --local-images, `linkmatrix images`); None: none is."""
        return None

    def service(self, binary: Path | None, ports: dict[str, int], listen: str,
                data_dir: str | None = None) -> ServiceSpec:
        """What to run; `listen` is the address its listeners bind (0.0.0.0 inside a container network);
        `data_dir` where it keeps data, when not next to its config."""
        raise NotImplementedError

    def base_url(self, service: Service) -> str:
        return service.url(self.query_port)

    def version(self, http: HttpClient, service: Service) -> str:
        raise NotImplementedError

    def unavailable(self, runtime: str = "local") -> str | None:
        """Why it cannot run on this runtime here (None: it can)."""
        return None

    def given(self) -> dict[str, str] | None:
        """Port name → "host:port" of an instance that already runs, if the user named one."""
        return None

    def collector_exporter(self, address: str) -> tuple[str, dict[str, Any]]:
        """The collector exporter (its type, its config) that sends to `address` ("host:port" of the
        backend's ingest port, or of the tap in front of it); the pipeline names one per scenario."""
        raise NotImplementedError

    def collector_http_exporter(self, address: str, encoding: str) -> tuple[str, dict[str, Any]]:
        """The collector's `otlp_http` exporter to its OTLP/HTTP receiver (or the tap in front of it),
        writing `encoding` (proto or json), compressed as by default."""
        return "otlp_http", {"endpoint": f"http://{address}", "encoding": encoding}

    def egress_http_tap(self, upstream: str, run_id: str) -> Tap:
        """A tap in front of its OTLP/HTTP receiver ("host:port")."""
        return cast(Tap, HttpPostTap(f"http://{upstream}", otlp_http_decoder(run_id)))

    def egress_tap(self, upstream: str, run_id: str) -> Tap:
        """A tap that records what the collector sends to this backend and forwards it to
        `upstream` ("host:port" of its ingest port); it decodes the spans of `run_id`."""
        raise NotImplementedError

    def sdk_zipkin_decoder(self, run_id: str) -> Callable[[bytes], list[Span]]:
        """(A backend that `takes_sdk_zipkin`) the spans of `run_id` in one request of the SDK's
        Zipkin exporter."""
        raise NotImplementedError

    def settle_mark(self, http: HttpClient, service: Service) -> Any:
        """Taken before anything is sent: what `settled` compares with (backends with "settled" read paths)."""
        return None

    def settled(self, http: HttpClient, service: Service, mark: Any) -> str | None:
        """None once everything sent since `mark` is in its final form; else what it still waits for."""
        return None

    def ui_problem(self, http: HttpClient, service: Service) -> str | None:
        """Why its UI cannot be rendered here (None: it can)."""
        return None



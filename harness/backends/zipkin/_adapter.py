"""Zipkin 3 (in-memory storage). Zipkin's span has no link field: the collector's `zipkin`
exporter writes each link as a tag `otlp.link.<i>` = `traceid|spanid|tracestate|{attributes json}|dropped`,
and this reader decodes them back into links.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from ...emit import HttpPostTap
from ...model import (
    COLLECTOR,
    DROPPED_LINKS_COUNT,
    FLAGS,
    LINK_ATTRIBUTE,
    LINK_PRESENT,
    LINK_SPAN_ID,
    LINK_TRACE_ID,
    RUN_ID_ATTRIBUTE,
    SDK_ZIPKIN,
    Advice,
    AttrValue,
    HttpClient,
    Link,
    ReadPath,
    RenderReadPath,
    SearchAnswer,
    SearchQuery,
    SearchReadPath,
    Span,
    TraceReadPath,
    jsonio,
    tag_text,
    trace_reader,
)
from ...stack import (
    LOOPBACK,
    Backend,
    MavenFile,
    Readiness,
    Service,
    ServiceSpec,
    Tap,
    class_data_archive,
    look_alikes,
    maven_release,
)
from . import _lens as zipkin_lens
from . import _look_alike
from ._release import OFFICIAL_IMAGE, ZIPKIN, ZIPKIN_PREVIOUS

NAME = "zipkin"
LINK_TAG = re.compile(r"^otlp\.link\.(\d+)$")


def _attribute(value: Any) -> AttrValue:
    return tuple(value) if isinstance(value, list) else value


def decode_link_tag(text: str) -> Link | None:
    """Parse `traceid|spanid|tracestate|{json}|dropped`. A trace_state may itself hold '|', so the
    fields are found from both ends: ids first, dropped count last, and the JSON object before it."""
    head = text.split("|", 2)
    if len(head) < 3:
        return None
    trace_id, span_id, rest = head
    body, _, dropped = rest.rpartition("|")
    for start in [i for i, char in enumerate(body) if char == "{" and (i == 0 or body[i - 1] == "|")]:
        try:
            attributes = jsonio.loads(body[start:])
        except ValueError:
            continue
        if not isinstance(attributes, dict):
            continue
        trace_state = body[:max(start - 1, 0)]
        return Link(trace_id=trace_id or "0" * 32, span_id=span_id or "0" * 16, trace_state=trace_state,
                    attributes={key: _attribute(value) for key, value in attributes.items()},
                    dropped_attributes_count=int(dropped) if dropped.isdigit() else 0, flags=None)
    return None


def normalize_api_v2(body: Any, run_id: str | None = None) -> list[Span]:
    spans: list[Span] = []
    for span in body if isinstance(body, list) else []:
        tags = span.get("tags") or {}
        if run_id is not None and tags.get(RUN_ID_ATTRIBUTE) != run_id:
            continue  # resource attributes travel as tags
        numbered = sorted((int(match[1]), value) for key, value in tags.items() if (match := LINK_TAG.match(key)))
        links = tuple(link for _, value in numbered if (link := decode_link_tag(value)) is not None)
        spans.append(Span(trace_id=span["traceId"].rjust(32, "0"), span_id=span["id"],
                          name=span.get("name", ""), parent_span_id=span.get("parentId", ""), links=links))
    return spans


def search(http: HttpClient, base_url: str, query: SearchQuery) -> SearchAnswer:
    """Zipkin's tag query: annotationQuery=key=value matches a whole tag value exactly."""
    annotation = f"{query.key}={tag_text(query.value)}"
    params: dict[str, Any] = {"serviceName": query.service, "annotationQuery": annotation,
                              "endTs": query.end * 1000, "lookback": (query.end - query.start) * 1000}
    if query.limit is not None:
        params["limit"] = query.limit
    if query.span_name:
        params["spanName"] = query.span_name
    status, body = http.get_json(f"{base_url}/api/v2/traces", params)
    found = ({(span.trace_id, span.span_id) for trace in body for span in normalize_api_v2(trace)}
             if status == 200 and isinstance(body, list) else set())
    named = f"&spanName={query.span_name}" if query.span_name else ""
    return SearchAnswer(found, status, body,
                        f"/api/v2/traces?serviceName={query.service}{named}&annotationQuery={annotation}",
                        parameters="" if query.limit is None else f"limit={query.limit}")


def decode_egress(body: bytes, run_id: str) -> list[Span]:
    """The collector's zipkin exporter posts JSON v2 span lists, the shape /api/v2/trace returns."""
    return normalize_api_v2(jsonio.loads(body), run_id=run_id)


_TARGET_IN_TAG = "a link target is only part of a tag value, and tag queries match whole values"


def read_paths(name: str, title: str) -> tuple[ReadPath, ...]:
    return (
        TraceReadPath(name, "api_v2", f"{title} /api/v2", trace_reader("/api/v2/trace/{trace_id}", normalize_api_v2),
                      cannot_carry=frozenset({FLAGS, DROPPED_LINKS_COUNT}),
                      notes={FLAGS: "the otlp.link.<i> tag has no flags field"}),
        SearchReadPath(name, "search", f"{title} search (tags)", search, kinds=frozenset({LINK_ATTRIBUTE}),
                       timeout=15.0, notes={LINK_TRACE_ID: _TARGET_IN_TAG, LINK_SPAN_ID: _TARGET_IN_TAG}),
        RenderReadPath(name, "lens", f"{title} Lens", zipkin_lens.render, api="api_v2", how=zipkin_lens.HOW,
                       home="/zipkin/"),
    )


# Measured: the SDK's own Zipkin exporter writes no links; the collector's zipkin exporter writes them as tags.
SDK_EXPORTER_SENDS_NO_LINKS = Advice(
    {"pipeline": SDK_ZIPKIN, "hop": "wire"},
    meaning="The SDK's Zipkin exporter (opentelemetry-exporter-zipkin-json {opentelemetry-exporter-zipkin-json}) "
            "sends no links at all: send through a collector, whose zipkin exporter writes them as otlp.link.<i> tags.",
    setting="send to Zipkin through a collector (its `zipkin` exporter), not the SDK's own Zipkin exporter",
    avoids="every link missing from Zipkin (the SDK's Zipkin exporter writes none)", where="pipeline",
    tried={"scenario": "sdk-zipkin-exporter", "feature": LINK_PRESENT, "pipeline": COLLECTOR, "verdict": "preserved"},
    tried_how="the same links through the collector's `zipkin` exporter")


class Zipkin(Backend):
    """Zipkin at one version (the table has the pinned one, and others to compare with)."""

    family = NAME
    ports = ("http",)
    container_ports = {"http": 9411}
    published_ports = {"http": 9411}
    probe = Readiness(port="http", path="/health")
    ingest_port = "http"
    otlp_port = None  # Zipkin's server has no OTLP receiver: no direct pipeline
    data_age = ("one read: its in-memory store keeps each span as it was received, so a later read "
                "returns the same")

    def __init__(self, pin: MavenFile = ZIPKIN, current: bool | None = None) -> None:
        """`current`: the release others are compared with, named without its version (default: the pinned one)."""
        pinned = pin is ZIPKIN if current is None else current
        self.pin = pin
        self.build = pin
        self.name = NAME if pinned else f"{NAME}-{pin.version}"
        self.title = "Zipkin" if pinned else f"Zipkin {pin.version}"
        self.default = pinned  # other versions run when asked for (--versions)
        self.takes_sdk_zipkin = pinned  # the SDK's Zipkin exporter sends to the pinned Zipkin
        self.advice = (SDK_EXPORTER_SENDS_NO_LINKS,) if pinned else ()
        self.release = "" if pinned else pin.version
        self.image = f"{OFFICIAL_IMAGE}:{pin.version}"
        self.read_paths = read_paths(self.name, self.title)

    def at_release(self, version: str, current: bool) -> Backend:
        return Zipkin(maven_release(ZIPKIN, version), current)

    def look_alike(self) -> look_alikes.LookAlike:
        return _look_alike.look_alike(self.pin)

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = LOOPBACK,
                data_dir: str | None = None) -> ServiceSpec:
        port = ports["http"]
        # One listener, on loopback only (the default is every interface).
        app_args = (f"--armeria.ports[0].port={port}", f"--armeria.ports[0].ip={listen}",
                    "--armeria.ports[0].protocols[0]=http")
        # The JDK resolver reads /etc/hosts first; Armeria's own opens a UDP socket to the
        # system's name server even when nothing needs resolving.
        # A test server: C1 only (measured: ready in 3.1 s instead of 4.2 s; its loads are small), and
        # locally its classes mapped from an archive the first run made (2.6 s).
        jvm = ("-Xms128m", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-Dcom.linecorp.armeria.useJdkDnsResolver=true")
        archive, keep_archive = class_data_archive(binary) if binary is not None else ((), None)
        return ServiceSpec(
            name=self.name,
            command=("java", *jvm, *archive, "-jar", str(binary), *app_args),
            readiness=Readiness(port="http", path="/health"),
            ports=ports,
            env={"STORAGE_TYPE": "mem", "QUERY_PORT": str(port)},
            # Measured: on SIGTERM it spends 2 s in its event loops' quiet period, and an in-memory
            # test server has nothing to save: 0.5 s, then SIGKILL — except while the JVM must exit
            # by itself to write its class archive.
            stop_grace=15.0 if keep_archive is not None else 0.5,
            image=self.image,
            # The image's start script starts the server from its working directory, JVM options
            # from JAVA_OPTS; its health check asks HEALTHCHECK_IP (default: the host's address,
            # where nothing listens when the server binds loopback).
            container_args=app_args,
            container_env={"JAVA_OPTS": " ".join(jvm),
                           **({"HEALTHCHECK_IP": listen} if listen != "0.0.0.0" else {})},
            keeps_image_workdir=True,
            cleanup=keep_archive,
        )

    def collector_exporter(self, address: str) -> tuple[str, dict[str, Any]]:
        return "zipkin", {"endpoint": f"http://{address}/api/v2/spans"}

    def egress_tap(self, upstream: str, run_id: str) -> Tap:
        return cast(Tap, HttpPostTap(f"http://{upstream}", self.sdk_zipkin_decoder(run_id)))

    def sdk_zipkin_decoder(self, run_id: str) -> Callable[[bytes], list[Span]]:
        """The collector's `zipkin` exporter and the SDK's own write the same JSON v2 span lists."""
        return lambda body: decode_egress(body, run_id)

    def version(self, http: HttpClient, service: Service) -> str:
        _status, body = http.get_json(f"{service.url('http')}/info")
        version = body.get("zipkin", {}).get("version") if isinstance(body, dict) else None
        return str(version) if version else "unknown (its /info gave no zipkin.version)"


BACKEND = Zipkin()
PREVIOUS = Zipkin(ZIPKIN_PREVIOUS)

"""Starting the backends: the services storages need first, all at once; then every backend at
once, each as a copy that knows its running peers, with the taps in front of it."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

from ..model import LinkmatrixError, Variant
from ._backend import Backend, Tap
from .runtime._base import Component, Runtime, Service


class StartingStack(Protocol):
    """What starting the backends needs of the stack (the `Stack` is one)."""

    backends: Sequence[Backend]
    runtime: Runtime
    services: dict[str, Service]
    egress: dict[str, Tap]
    egress_http: dict[str, Tap]
    variants: Sequence[Variant]
    run_id: str
    exits: contextlib.ExitStack  # what the stack closes when it stops: the taps among them

    def started(self, name: str, title: str, service: Service) -> None: ...

    def fail(self, backend: str, message: str) -> None: ...

    def takes_http(self, backend: Backend) -> bool: ...


def start_backends(stack: StartingStack) -> None:
    """The services storages need, all at once; then every backend at once (Zipkin's JVM and a
    search engine no longer wait for each other)."""
    needs = list({need.name: need for backend in stack.backends for need in backend.needs}.values())
    refused: dict[str, Exception] = {}  # a need that did not start is not started again
    for need, result in zip(needs, stack.runtime.provide_all(needs), strict=True):
        if isinstance(result, Service):
            stack.started(need.name, need.title, result)
        else:
            refused[need.name] = result
    startable = []
    for backend in stack.backends:
        try:
            failed = next((refused[n.name] for n in backend.needs if n.name in refused), None)
            if failed is not None:
                raise failed
            peers = {need.name: _needed(stack, need) for need in backend.needs}
        except (LinkmatrixError, ValueError) as error:
            stack.fail(backend.name, f"{backend.title} did not start: {error}")
            continue
        startable.append(backend.configured(peers=peers) if peers else backend)
    started = {backend.name: backend for backend in startable}  # each now knows its peers
    stack.backends = [started.get(backend.name, backend) for backend in stack.backends]
    for backend, result in zip(startable, stack.runtime.provide_all(startable), strict=True):
        if isinstance(result, Service):
            stack.started(backend.name, backend.title, result)
            _tap(stack, backend, result)
        else:
            stack.fail(backend.name, f"{backend.title} did not start: {result}")

def _tap(stack: StartingStack, backend: Backend, service: Service) -> None:
    """The taps in front of it, where they can reach it."""
    if not stack.runtime.taps_reach_backends:
        return
    upstream = stack.runtime.peer_address(service, backend.ingest_port)
    stack.egress[backend.name] = stack.exits.enter_context(backend.egress_tap(upstream, stack.run_id))
    if stack.takes_http(backend) and any(variant.exports_http for variant in stack.variants):
        upstream = stack.runtime.peer_address(service, backend.otlp_http_port or "")
        stack.egress_http[backend.name] = stack.exits.enter_context(
            backend.egress_http_tap(upstream, stack.run_id))

def _needed(stack: StartingStack, component: Component) -> str:
    """A service a backend needs (a storage's search engine), started once for every backend that
    needs it: its "host:port" as the backend reaches it."""
    if component.name not in stack.services:
        stack.started(component.name, component.title, stack.runtime.provide(component))
    return stack.runtime.peer_address(stack.services[component.name], component.ports[0])

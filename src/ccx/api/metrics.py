"""Prometheus metrics of one application, in a registry of its own (never the global one)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccx.ledger import TransferOutcome

UNMATCHED_ROUTE = "<unmatched>"
"""Route label of requests that matched no route (keeps the label set bounded)."""
OTHER_METHOD = "OTHER"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ApiMetrics:
    """Request counts and latencies by route template and status; transfer results by code."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self._requests = Counter(
            "ccx_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self._latency = Histogram(
            "ccx_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels,
            registry=self.registry,
        )
        self._transfers = Counter(
            "ccx_transfers_created",
            "Transfer events submitted over HTTP, by result code.",
            ["result"],
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, duration_s: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route, str(status)).observe(duration_s)

    def count_transfers(self, outcomes: Iterable[TransferOutcome]) -> None:
        for outcome in outcomes:
            self._transfers.labels(outcome.result.value).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return bytes(generate_latest(self.registry))


class MetricsMiddleware:
    """Times every HTTP request and records it under its route template (`/accounts/{id}`)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when the application raises

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_with_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else OTHER_METHOD
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            duration_s = time.perf_counter() - started
            self._metrics.observe_request(method, route, status, duration_s)

"""The bridge's Prometheus metrics: one registry per app, the request series (fed by the
middleware that times requests, `bridge.access_log.request_middleware`), the record counters
the handlers feed, and the gauges read at scrape time.

Each app owns its registry (never the process-global default), so the many apps a test
process builds do not collide. Request series are labelled by route template, never by raw
path: a consumer's name must not create series.

The series fed on every request and every read or write of records are plain counts kept
here and turned into Prometheus families when scraped: a request costs a dict look-up and
three additions, where prometheus-client's counters and histograms take a lock and several
calls per update. Everything runs on the event loop, the scrape included, so nothing else
needs a lock.
"""

from __future__ import annotations

import asyncio
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from bridge import __version__
from bridge.errors import ErrorKind
from bridge.http import CONTEXT
from bridge.middlewares import REPORTED_ERROR
from bridge.services import SERVICES

PREFIX = "kafka_bridge_"
#: The route label of a request that matched no route (404, 405): never its raw path.
UNMATCHED = "unmatched"
#: Methods that get a label of their own; any other becomes "other".
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
#: The status of a request whose client went away before it was answered (nginx's code).
CLIENT_CLOSED = 499


#: Long-polling reads wait seconds, so the buckets reach past the default read timeout.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BUCKET_LABELS = [floatToGoString(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]  # type: ignore[no-untyped-call]

_REQUESTS_HELP = "HTTP requests answered, by method, route template, status and dialect"
_LATENCY_HELP = "Time from receiving a request to answering it, by method, route template, status"
_RECORDS_HELP = "Records written to Kafka (produced) or handed to clients (consumed), by format"
_BYTES_HELP = "Key and value bytes of those records, as sent to or received from Kafka"

# A `_created` twin of every counter and histogram series would double the series for no
# use in the text format Prometheus scrapes; this process is the bridge, so the switch is ours.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream


class _RequestSeries:
    """The requests of one method, route, status and dialect: how many, and how long."""

    __slots__ = ("buckets", "count", "labels", "seconds")

    def __init__(self, labels: tuple[str, str, str, str]) -> None:
        #: method, route, status, dialect
        self.labels = labels
        self.count = 0
        self.seconds = 0.0
        #: Requests per latency bucket, not cumulative; the last one is +Inf.
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)


def route_label(request: web.Request) -> str:
    """The request's route template, without the trailing slash its twin route has."""
    resource = request.match_info.route.resource
    if resource is None:
        return UNMATCHED
    return resource.canonical.rstrip("/") or "/"


class Metrics:
    """The metrics of one bridge app; the management app shares its API app's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        registry = self.registry
        self._errors = Counter(
            PREFIX + "errors",
            "Errors reported to clients by kind, including records of a produce request that "
            "failed while others were written; kafka_error, kafka_retriable and unavailable "
            "are Kafka's failures",
            ["kind"],
            registry=registry,
        )
        self._request_series: dict[tuple[object, str, int, int], _RequestSeries] = {}
        #: (direction, format) -> [records, bytes]
        self._record_totals: dict[tuple[str, str], list[int]] = {}
        #: Requests being served now.
        self.in_flight = 0
        self._app: web.Application | None = None
        self._servers: list[web.Server] = []
        registry.register(_LiveGauges(self))

    # --- what the app tells the metrics

    def watch_app(self, app: web.Application) -> None:
        """Read this app's consumer instances at scrape time."""
        self._app = app

    def watch_server(self, server: web.Server) -> None:
        """Count this HTTP server's open connections at scrape time (runner.server)."""
        self._servers.append(server)

    def produced(self, fmt: str, records: int, size: int) -> None:
        self._count_records("produced", fmt, records, size)

    def consumed(self, fmt: str, records: int, size: int) -> None:
        self._count_records("consumed", fmt, records, size)

    def error(self, kind: ErrorKind) -> None:
        self._errors.labels(kind.value).inc()

    def _count_records(self, direction: str, fmt: str, records: int, size: int) -> None:
        if not records:
            return
        totals = self._record_totals.get((direction, fmt))
        if totals is None:
            totals = self._record_totals[(direction, fmt)] = [0, 0]
        totals[0] += records
        totals[1] += size

    # --- requests (timed by `bridge.access_log.request_middleware`, which keeps `in_flight`)

    def observe(self, request: web.Request, status: int, elapsed: float) -> str:
        """Count an answered request: its status, and the seconds it took. Returns the
        request's route label, which the access log shows too."""
        method = request.method if request.method in _METHODS else "other"
        negotiated = request.get(CONTEXT)
        version = negotiated.dialect.version if negotiated is not None else 0
        key = (request.match_info.route.resource, method, status, version)
        series = self._request_series.get(key)
        if series is None:
            dialect = f"v{version}" if version else "none"
            series = _RequestSeries((method, route_label(request), str(status), dialect))
            self._request_series[key] = series
        series.count += 1
        series.seconds += elapsed
        series.buckets[bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        if status >= 400:
            reported = request.get(REPORTED_ERROR)
            if reported is not None:
                self.error(reported.kind)
        return series.labels[1]

    # --- read at scrape time

    def series_families(self) -> Iterator[Metric]:
        """The request and record series as they stand."""
        requests = CounterMetricFamily(
            PREFIX + "http_requests",
            _REQUESTS_HELP,
            labels=["method", "route", "status", "dialect"],
        )
        # The latency histogram has no dialect label: one series per method, route, status.
        latency: dict[tuple[str, str, str], tuple[list[int], float]] = {}
        for series in self._request_series.values():
            requests.add_metric(list(series.labels), series.count)
            key = series.labels[:3]
            buckets, seconds = latency.get(key, ([0] * len(series.buckets), 0.0))
            latency[key] = (
                [a + b for a, b in zip(buckets, series.buckets, strict=True)],
                seconds + series.seconds,
            )
        yield requests
        histogram = HistogramMetricFamily(
            PREFIX + "http_request_duration_seconds",
            _LATENCY_HELP,
            labels=["method", "route", "status"],
        )
        for key, (buckets, seconds) in latency.items():
            cumulative = itertools.accumulate(buckets)
            histogram.add_metric(
                list(key), list(zip(_BUCKET_LABELS, cumulative, strict=True)), seconds
            )
        yield histogram
        records = CounterMetricFamily(
            PREFIX + "records", _RECORDS_HELP, labels=["direction", "format"]
        )
        sizes = CounterMetricFamily(
            PREFIX + "record_bytes", _BYTES_HELP, labels=["direction", "format"]
        )
        for labels, (count, size) in self._record_totals.items():
            records.add_metric(list(labels), count)
            sizes.add_metric(list(labels), size)
        yield records
        yield sizes

    def live_values(self) -> Iterator[tuple[str, str, float]]:
        yield "http_requests_in_flight", "HTTP requests being served", self.in_flight
        if self._servers:
            connections = sum(len(server.connections) for server in self._servers)
            yield "http_connections", "Open HTTP connections", connections
        services = self._app.get(SERVICES) if self._app is not None else None
        if services is not None:
            yield "consumer_instances", "Live consumer instances", len(services.consumers)
        try:
            tasks = len(asyncio.all_tasks())
        except RuntimeError:  # scraped from outside the event loop
            return
        yield "event_loop_tasks", "Tasks alive on the event loop", tasks


class _LiveGauges:
    """What is turned into Prometheus families when scraped: the series the metrics count,
    and gauges computed then, so nothing needs bookkeeping that could drift."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        # Described without values, so registering never runs `collect`.
        return [
            GaugeMetricFamily(PREFIX + "build_info", ""),
            CounterMetricFamily(PREFIX + "http_requests", ""),
            HistogramMetricFamily(PREFIX + "http_request_duration_seconds", ""),
            CounterMetricFamily(PREFIX + "records", ""),
            CounterMetricFamily(PREFIX + "record_bytes", ""),
        ]

    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            PREFIX + "build_info", "The bridge's version, as a label", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info
        yield from self._metrics.series_families()
        for name, help_text, value in self._metrics.live_values():
            yield GaugeMetricFamily(PREFIX + name, help_text, value=value)


METRICS = web.AppKey("metrics", Metrics)

"""The service's Prometheus metrics: one `Metrics` object per app (its own registry, so two
apps in one process — the tests — never share counts), handed to whoever records.

Label values are fixed sets chosen here (route templates, status classes, schemes, outcomes),
never user data, ids or raw paths. Every name and its meaning is in docs/configuration.md,
"Metrics"."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from pymongo.errors import ConnectionFailure, PyMongoError

NAMESPACE = "assistant"
CONTENT_TYPE = CONTENT_TYPE_LATEST

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"  # 404/405: no route template, and the raw path is never a label

AUTH_SCHEMES = ("bearer", "bot", "tma", "none", "other", "password", "refresh", "telegram",
                "webhook")  # fmt: skip
AUTH_OUTCOMES = ("accepted", "refused", "throttled")
DB_ERROR_KINDS = ("unavailable", "error")

# Seconds. HTTP: from a cached token check (~1 ms) to an argon2 login under load (~1 s).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Update handling and reminder delivery: sub-second normally, minutes when a process died.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
REMINDER_LATE_AFTER = 60.0  # seconds after its time a reminder counts as late


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class EventLoopCounter(Collector):
    """A labelled counter for the hottest paths, counted in plain ints: `inc` is one dict
    update (~0.1 us) where a prometheus_client child's `inc` takes a lock (~0.3 us) and
    `labels()` another ~0.7 us. Only the event loop thread may count (no lock); a scrape
    reads the ints. Exposed exactly as a Counter: `<name>_total` and `<name>_created`."""

    def __init__(
        self, name: str, documentation: str, labels: tuple[str, ...],
        known: list[tuple[str, ...]], registry: CollectorRegistry,
    ) -> None:  # fmt: skip
        self._name = name
        self._documentation = documentation
        self._labels = labels
        self.counts: dict[tuple[str, ...], int] = dict.fromkeys(known, 0)
        self._created: dict[tuple[str, ...], float] = dict.fromkeys(known, time.time())
        registry.register(self)

    def inc(self, key: tuple[str, ...]) -> None:
        try:
            self.counts[key] += 1
        except KeyError:  # outside the known label values: counted from now on
            self._created[key] = time.time()
            self.counts[key] = 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labels)
        for key, count in list(self.counts.items()):
            family.add_metric(list(key), count, created=self._created[key])
        yield family


class ReminderMetrics:
    """What the reminder delivery loop reports. Call, per occurrence:
    `due()` when it is claimed for sending, then `sent(lag_seconds)` (lag = sent time minus
    remind_at) or `failed()`."""

    OUTCOMES = ("on_time", "late", "failed")

    def __init__(self, registry: CollectorRegistry, late_after: float) -> None:
        self._late_after = late_after
        self._due = Counter(
            "reminders_due", "Reminder occurrences that came due and were claimed for sending",
            namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self._sent = Counter(
            "reminders_sent",
            "Reminder sending attempts, by outcome: on_time, late (sent more than "
            f"{late_after:g} s after remind_at), failed (not sent)",
            ["outcome"], namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self._lag = Histogram(
            "reminder_delivery_lag_seconds", "Seconds from remind_at to the message being sent",
            namespace=NAMESPACE, registry=registry, buckets=LAG_BUCKETS,
        )  # fmt: skip
        for outcome in self.OUTCOMES:
            self._sent.labels(outcome)

    def due(self, count: int = 1) -> None:
        self._due.inc(count)

    def sent(self, lag_seconds: float) -> None:
        lag = max(0.0, lag_seconds)
        self._lag.observe(lag)
        self._sent.labels("late" if lag > self._late_after else "on_time").inc()

    def failed(self) -> None:
        self._sent.labels("failed").inc()


class Metrics:
    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, ns = self.registry, NAMESPACE
        if process_metrics:  # memory, CPU, open files, GC: what a platform dashboard lacks
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self._requests = Counter(
            "http_requests", "HTTP requests answered, by method, route template and status class",
            ["method", "route", "status"], namespace=ns, registry=r,
        )  # fmt: skip
        self._duration = Histogram(
            "http_request_duration_seconds",
            "Seconds from the request reaching the app to its response being ready",
            ["method", "route", "status"], namespace=ns, registry=r, buckets=HTTP_BUCKETS,
        )  # fmt: skip
        self._http_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        # Counted on every authenticated request (the auth middleware): plain ints.
        self._auth = EventLoopCounter(
            f"{ns}_auth_attempts", "Credentials presented, by scheme and outcome",
            ("scheme", "outcome"),
            [(scheme, outcome) for scheme in AUTH_SCHEMES for outcome in AUTH_OUTCOMES], r,
        )  # fmt: skip
        self.updates_received = Counter(
            "telegram_updates_received",
            "Webhook updates with the right secret and a valid body (redeliveries included)",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.updates_recorded = Counter(
            "telegram_updates_recorded", "Updates recorded for the first time (then acknowledged)",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.updates_duplicate = Counter(
            "telegram_updates_duplicate", "Redeliveries of an update already recorded",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.updates_handled = Counter(
            "telegram_updates_handled", "Updates whose handling finished without an error",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.updates_failed = Counter(
            "telegram_updates_failed", "Updates whose handler raised (logged with the update id)",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.updates_taken_over = Counter(
            "telegram_updates_taken_over",
            "Updates acknowledged by a process that died before handling them, taken over here",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.update_lag = Histogram(
            "telegram_update_handling_lag_seconds",
            "Seconds from an update being queued in this process to its handling finishing",
            namespace=ns, registry=r, buckets=LAG_BUCKETS,
        )  # fmt: skip
        self._db_errors = Counter(
            "db_errors",
            "Failed database operations: unavailable (no server, lost connection, timeout) or "
            "error (the server refused)",
            ["kind"], namespace=ns, registry=r,
        )  # fmt: skip
        self._argon2_queue = Gauge(
            "argon2_queue_depth", "Password hashes waiting for a hashing thread",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.reminders = ReminderMetrics(r, REMINDER_LATE_AFTER)
        for kind in DB_ERROR_KINDS:
            self._db_errors.labels(kind)

    def http_request(self, method: str, route: str, status: str, seconds: float) -> None:
        method = method if method in METHODS else "other"
        key = (method, route, status)
        # The labelled children, cached: `labels()` costs ~5 us a call, on every request.
        children = self._http_children.get(key)
        if children is None:
            children = self._requests.labels(*key), self._duration.labels(*key)
            self._http_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def auth(self, scheme: str, outcome: str) -> None:
        """Event loop thread only (see EventLoopCounter)."""
        self._auth.inc((scheme, outcome))

    def db_error(self, exc: BaseException) -> None:
        unavailable = isinstance(exc, ConnectionFailure) or (
            isinstance(exc, PyMongoError) and exc.timeout
        )
        self._db_errors.labels("unavailable" if unavailable else "error").inc()

    def watch_argon2_queue(self, depth: Callable[[], float]) -> None:
        """Read at every scrape (the password service knows nothing of Prometheus)."""
        self._argon2_queue.set_function(depth)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

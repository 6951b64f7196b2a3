"""The metrics API other code calls (reminders, database errors) and the argon2 queue depth
the password service reports without knowing Prometheus."""

from __future__ import annotations

import asyncio
import time

from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from server.observability.metrics import Metrics, status_class
from server.services.accounts.passwords import Passwords


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def test_reminders_api_counts_due_on_time_late_failed_and_the_lag() -> None:
    metrics = Metrics(process_metrics=False)
    reminders = metrics.reminders

    reminders.due(3)
    reminders.due()
    reminders.sent(lag_seconds=0.4)
    reminders.sent(lag_seconds=59.0)
    reminders.sent(lag_seconds=61.0)  # over REMINDER_LATE_AFTER
    reminders.failed()

    assert value(metrics, "assistant_reminders_due_total") == 4
    sent = "assistant_reminders_sent_total"
    assert value(metrics, sent, outcome="on_time") == 2
    assert value(metrics, sent, outcome="late") == 1
    assert value(metrics, sent, outcome="failed") == 1
    lag = "assistant_reminder_delivery_lag_seconds"
    assert value(metrics, f"{lag}_count") == 3
    assert value(metrics, f"{lag}_sum") == 0.4 + 59.0 + 61.0
    assert value(metrics, f"{lag}_bucket", le="0.5") == 1


def test_database_errors_are_classed_unavailable_or_error() -> None:
    metrics = Metrics(process_metrics=False)

    for exc in (ServerSelectionTimeoutError("x"), AutoReconnect("x"), NetworkTimeout("x")):
        metrics.db_error(exc)
    metrics.db_error(OperationFailure("refused", code=13))
    metrics.db_error(DuplicateKeyError("dup"))

    assert value(metrics, "assistant_db_errors_total", kind="unavailable") == 3
    assert value(metrics, "assistant_db_errors_total", kind="error") == 2


def test_unknown_methods_do_not_become_label_values() -> None:
    metrics = Metrics(process_metrics=False)

    metrics.http_request("BREW", "unmatched", "4xx", 0.001)

    total = "assistant_http_requests_total"
    assert value(metrics, total, method="other", route="unmatched", status="4xx") == 1
    assert (
        metrics.registry.get_sample_value(
            total, {"method": "BREW", "route": "unmatched", "status": "4xx"}
        )
        is None
    )


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 204, 301, 404, 503, 42)] == [
        "2xx", "2xx", "3xx", "4xx", "5xx", "other",
    ]  # fmt: skip


async def test_argon2_queue_depth_counts_hashes_waiting_for_a_thread() -> None:
    # One thread and a hash of ~0.1 s or more: three hashes at once leave two waiting.
    passwords = Passwords(time_cost=3, memory_cost=64 * 1024, parallelism=1, workers=1)
    metrics = Metrics(process_metrics=False)
    metrics.watch_argon2_queue(passwords.queue_depth)
    try:
        assert value(metrics, "assistant_argon2_queue_depth") == 0
        hashes = [asyncio.create_task(passwords.hash(f"password-{i}")) for i in range(3)]
        deadline = time.monotonic() + 5
        while passwords.queue_depth() != 2:
            assert time.monotonic() < deadline, passwords.queue_depth()
            await asyncio.sleep(0.001)
        assert value(metrics, "assistant_argon2_queue_depth") == 2
        await asyncio.gather(*hashes)
        assert value(metrics, "assistant_argon2_queue_depth") == 0
    finally:
        passwords.close()

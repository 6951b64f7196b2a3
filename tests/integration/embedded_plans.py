"""An nx-27017 server run inside the test process, so that a test can watch the SQL it executes
(SQLite's trace callback on the database's connection) and ask SQLite how it runs each
statement (`EXPLAIN QUERY PLAN`). The same server code and storage the app runs as a child
process (server/db/embedded.py), only on a thread here."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from nx_27017.handler import NeoSQLiteHandler
from nx_27017.server import run_server

from server.db.nx_runner import _throttle_ttl_purge

# A plan row that reads a whole table (or walks a whole index): `SCAN tasks`, `SCAN tasks
# USING INDEX …`. `SEARCH tasks USING INDEX … (<expr>=?)` is a look-up.
_SCAN = re.compile(r"^SCAN (\w+)")
_STATEMENT = re.compile(r"^\s*(SELECT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


@dataclass
class Statement:
    sql: str
    plan: list[str]
    scans: list[str]  # the collection tables this statement reads whole


@dataclass
class Trace:
    statements: list[Statement] = field(default_factory=list)

    @property
    def scans(self) -> list[str]:
        return [table for statement in self.statements for table in statement.scans]


class TracedServer:
    """nx-27017 on a loopback port, on its own thread and event loop."""

    def __init__(self, data_dir: Path) -> None:
        # As the app's runner does: expired documents purged once a minute per collection,
        # not before every query (that purge is a scan, MongoDB's TTL monitor's analogue).
        _throttle_ttl_purge()
        self.handler = NeoSQLiteHandler(data_dir=str(data_dir))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name="nx-27017-traced")

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(run_server("127.0.0.1", self.port, self.handler))
        with suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)

    def start(self) -> None:
        self._thread.start()
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            threading.Event().wait(0.02)
        raise RuntimeError("the traced nx-27017 did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=5)

    @contextmanager
    def trace(self, db_name: str) -> Iterator[Trace]:
        """Record every statement the database runs inside the block; on leaving it, each
        SELECT/UPDATE/DELETE is explained and its full scans of collection tables listed."""
        conn = self.handler.get_database(db_name).db
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        result = Trace()
        try:
            yield result
        finally:
            conn.set_trace_callback(None)
        with self.handler._lock_for(db_name):
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            for sql in seen:
                if not _STATEMENT.match(sql) or "sqlite_master" in sql or "pragma_" in sql:
                    continue
                try:
                    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
                except Exception as exc:  # a temporary table already dropped: say so
                    plan = [f"not explained: {exc}"]
                scans = [
                    m.group(1)
                    for row in plan
                    if (m := _SCAN.match(row))
                    and m.group(1) in tables
                    and not m.group(1).startswith("_neosqlite")  # its own small catalogues
                ]
                result.statements.append(Statement(sql, plan, scans))

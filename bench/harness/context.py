"""`Bench`: what every phase gets: the settings of the run, the service under test (started
on first use), the fake Bot API, CPU meters, and where results go."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import time
import traceback
import uuid
from types import ModuleType
from typing import Any

from bench.harness import machine
from bench.harness.cpu import CpuMeter
from bench.harness.load import find_wrk, wrk_version
from bench.harness.procs import BENCH, ROOT, FakeBot, Service, ServiceStartError, http_json, log
from bench.harness.profiler import Profiler

JWT_SECRET = "bench-jwt-secret-" + "0123456789abcdefghijklmnopqrstuvwxyz"
JWT_ISSUER, JWT_AUDIENCE = "assistant-backend", "assistant-api"
BOT_API_TOKEN = "bench-bot-service-token-0123456789abcdefghijkl"  # noqa: S105
TELEGRAM_TOKEN = "123456:BENCH-telegram-bot-token-abcdefghijklmnopq"  # noqa: S105
WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdefghijkl"  # noqa: S105
LIMIT_VARS = (  # the abuse limits, raised (not disabled) so the bench's own load passes
    "LOGIN_MAX_FAILURES_PER_USERNAME",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "REGISTER_MAX_PER_ADDRESS",
    "TELEGRAM_SIGN_IN_MAX_PER_ADDRESS",
    "QUOTA_TASKS",  # the search phase seeds 10,000 tasks for one user, fast
    "QUOTA_TASKS_PER_MINUTE",
    "QUOTA_ACTIVE_REMINDERS",
    "QUOTA_LISTS",
)
KEPT_FROM_SHELL = (  # app settings a developer may choose for a run; the rest are the bench's
    "MONGODB_URI",
    "ARGON2_TIME_COST",
    "ARGON2_MEMORY_COST",
    "ARGON2_PARALLELISM",
    "HASH_WORKERS",
)


def bot_user_headers(telegram_id: int) -> dict[str, str]:
    """The bot acting for a Telegram user (created on first sight)."""
    return {"Authorization": f"Bot {BOT_API_TOKEN}", "X-Telegram-User-Id": str(telegram_id)}


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.runs: int = args.runs
        self.quick: bool = args.quick
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_dir = BENCH / ".runs" / stamp
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for old in sorted((BENCH / ".runs").iterdir())[:-5]:  # keep the last five runs' logs
            shutil.rmtree(old, ignore_errors=True)
        self.external_uri = os.environ.get("MONGODB_URI") or None
        self.db_name = f"bench_{uuid.uuid4().hex[:8]}" if self.external_uri else "assistant"
        self.argon2 = {
            "time_cost": int(os.environ.get("ARGON2_TIME_COST") or 2),
            "memory_cost": int(os.environ.get("ARGON2_MEMORY_COST") or 19 * 1024),
            "parallelism": int(os.environ.get("ARGON2_PARALLELISM") or 1),
        }
        self.cores = machine.cores()
        self.profiler = Profiler(args.profile, self.run_dir / "profiles")
        self.wrk_path = None if args.no_wrk else find_wrk()
        self.results: dict[str, Any] = {"phases": {}, "rss_timeline_mib": {}}
        self.errors: dict[str, str] = {}
        self.service_failed = False
        self.fake: FakeBot | None = None
        self._service: Service | None = None
        self._openapi: dict[str, Any] | None = None

    # ------------------------------------------------------------ life cycle

    def __enter__(self) -> Bench:
        self.results["machine"] = {
            **machine.describe(),
            "database": "MONGODB_URI (external)" if self.external_uri else "embedded nx-27017",
            "argon2": self.argon2,
            "log_level": self.args.log_level,
            "load_generator": wrk_version(self.wrk_path)
            if self.wrk_path
            else "aiohttp client (wrk not on PATH)",
        }
        log(
            f"load generator: {self.results['machine']['load_generator']}; runs: {self.runs}; "
            f"logs in {self.run_dir.relative_to(ROOT)}"
        )
        self.fake = FakeBot(TELEGRAM_TOKEN, self.run_dir)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._service is not None:
            self.results["sigterm_stop_seconds_last"] = self._service.stop()
        if self.fake is not None:
            self.fake.stop()
        if self.external_uri:
            self.drop_database(self.db_name)
        self.results["machine"]["loadavg_at_end"] = os.getloadavg()

    def run_phase(self, phase: ModuleType) -> bool:
        """Run one phase; a failure is recorded, not raised. False: the service cannot start,
        so nothing else can be measured."""
        name = phase.NAME
        log(f"phase: {name}")
        t0 = time.perf_counter()
        try:
            self.results["phases"][name] = phase.run(self)
        except ServiceStartError as exc:
            self.errors[name] = str(exc)
            self.service_failed = True
            log(f"the service could not be started: {exc}")
            return False
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            (self.run_dir / f"error-{name}.txt").write_text(traceback.format_exc())
            log(f"phase {name} failed: {exc}")
        finally:
            self.results.setdefault("phase_seconds", {})[name] = round(time.perf_counter() - t0, 1)
        return True

    # ------------------------------------------------------------ the service

    def env(self, **overrides: str) -> dict[str, str]:
        """The service's environment: the shell's, minus app settings the bench decides."""
        from config.settings import Settings

        app_vars = {name.upper() for name in Settings.model_fields}
        env = {
            k: v
            for k, v in os.environ.items()
            if k.upper() not in app_vars or k.upper() in KEPT_FROM_SHELL
        }
        assert self.fake is not None
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
                "ENV": "development",
                "HOST": "127.0.0.1",
                "LOG_LEVEL": self.args.log_level,
                "MONGODB_DB": self.db_name,
                "JWT_SECRET": JWT_SECRET,
                "JWT_ISSUER": JWT_ISSUER,
                "JWT_AUDIENCE": JWT_AUDIENCE,
                "ACCESS_TOKEN_TTL": "3600",
                "BOT_API_TOKENS": BOT_API_TOKEN,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_API_BASE_URL": self.fake.url,
                "PUBLIC_URL": "https://bench.invalid",
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                **{f"ARGON2_{k.upper()}": str(v) for k, v in self.argon2.items()},
                **dict.fromkeys(LIMIT_VARS, "1000000"),
                **overrides,
            }
        )
        return env

    @property
    def service(self) -> Service:
        """The service the phases share; started here unless the coldstart phase ran."""
        if self._service is None:
            service = Service(self.env(), self.run_dir, "main")
            service.start()
            self.adopt(service)
        assert self._service is not None
        return self._service

    def adopt(self, service: Service) -> None:
        self._service = service
        self.rss_mark("idle (after start)")

    def mongo_uri(self) -> str:
        if self.external_uri:
            return self.external_uri
        child = self.service.nx_child()
        if child is None:
            raise RuntimeError("cannot find the embedded nx-27017 child")
        return f"mongodb://127.0.0.1:{child[1]}/"

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(Exception):
            from pymongo import MongoClient

            with MongoClient(self.mongo_uri(), serverSelectionTimeoutMS=10000) as client:
                client.drop_database(name)

    def meter(self, apps: list[int] | None = None) -> CpuMeter:
        """CPU accounting for the app processes (default: the service), the database, the
        fake Bot API and the load generators."""
        assert self.fake is not None
        child = self.service.nx_child()
        others = {"nx-27017": child[0] if child else None, "fake Bot API": self.fake.proc.pid}
        return CpuMeter(apps or [self.service.pid], others)

    def rss_mark(self, label: str) -> None:
        if self._service is not None and (kib := self._service.rss_kib()) is not None:
            self.results["rss_timeline_mib"][label] = round(kib / 1024, 1)

    # ------------------------------------------------------------ requests

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return http_json(self.service.port, method, path, body, headers)

    def register(self, prefix: str) -> dict[str, Any]:
        """A new account through the API: its token pair, plus its username and password."""
        username = f"{prefix}_{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(18)
        status, body = self.call(
            "POST", "/api/auth/register", {"username": username, "password": password}
        )
        if status != 201:
            raise RuntimeError(f"register {username}: {status} {body}")
        return {**body, "username": username, "password": password}

    def offers(self, method: str, path: str, mentions: str = "") -> bool:
        """Whether this build's /api/openapi.json has the route (and, when given, mentions
        the field `mentions` somewhere): a phase for a feature not built yet is skipped."""
        if self._openapi is None:
            status, spec = self.call("GET", "/api/openapi.json")
            self._openapi = spec if status == 200 and isinstance(spec, dict) else {}
        route = self._openapi.get("paths", {}).get(path, {})
        return method.lower() in route and mentions in json.dumps(self._openapi)

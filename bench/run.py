"""`make bench`: start the service, drive it from other processes, write results.md/.json.

    python bench/run.py [--runs 3] [--quick] [--profile] [--no-install] [--log-level INFO]

The service runs as `python -m server` in its own process, on a free loopback port, with a
fresh temporary DATA_DIR and the embedded database (or MONGODB_URI when that is set, with a
throw-away database name), in webhook mode against the tests' fake Telegram Bot API
(bench/fake_bot.py, its own process). Load comes from wrk (Debian's package; installed with
apt-get when missing and allowed) for the fixed-request throughput rows, and from
bench/loadgen.py (aiohttp, its own process) where each request differs or every answer must
be checked. The in-process middleware figures come from bench/inproc.py.

A benchmark reports; it never fails on a missed target (exit 0). It exits non-zero only when
the service cannot be started at all. Logs, and py-spy profiles with --profile, are kept in
bench/.runs/<timestamp>/ (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
sys.path.insert(0, str(ROOT))

JWT_SECRET = "bench-jwt-secret-" + "0123456789abcdefghijklmnopqrstuvwxyz"
JWT_ISSUER, JWT_AUDIENCE = "assistant-backend", "assistant-api"
BOT_API_TOKEN = "bench-bot-service-token-0123456789abcdefghijkl"  # noqa: S105
TELEGRAM_TOKEN = "123456:BENCH-telegram-bot-token-abcdefghijklmnopq"  # noqa: S105
WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdefghijkl"  # noqa: S105
BOT_USER_ID = 777000001  # X-Telegram-User-Id of the Bot + user throughput row
LIMIT_VARS = (  # the abuse limits, raised (not disabled) so the bench's own load passes
    "LOGIN_MAX_FAILURES_PER_USERNAME_AND_ADDRESS",
    "LOGIN_MAX_FAILURES_PER_USERNAME",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "REGISTER_MAX_PER_ADDRESS",
    "TELEGRAM_SIGN_IN_MAX_PER_ADDRESS",
)
KEPT_FROM_SHELL = (
    "MONGODB_URI",
    "ARGON2_TIME_COST",
    "ARGON2_MEMORY_COST",
    "ARGON2_PARALLELISM",
    "HASH_WORKERS",
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return " / ".join(f"{v:g}" for v in values)


# ------------------------------------------------------------------ HTTP helpers


def http_json(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=all_headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode(errors="replace")
    finally:
        conn.close()


# ----------------------------------------------------------------- the processes


class FakeBot:
    """bench/fake_bot.py in its own process."""

    def __init__(self, run_dir: Path) -> None:
        self._log = (run_dir / "fake_bot.log").open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [PY, str(BENCH / "fake_bot.py"), TELEGRAM_TOKEN],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Bot API did not start; see fake_bot.log")
        self.url = json.loads(line)["url"]
        self.port = int(self.url.rsplit(":", 1)[1])

    def call(self, method: str, **params: Any) -> Any:
        status, body = http_json(self.port, "POST", f"/bot{TELEGRAM_TOKEN}/{method}", params)
        if status != 200 or not body.get("ok"):
            raise RuntimeError(f"fake Bot API {method}: {status} {body}")
        return body["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            terminate(self.proc, 10)
        self._log.close()


def terminate(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """SIGTERM, then SIGKILL after `seconds`; True when it stopped on SIGTERM."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False
    return True


class Service:
    """`python -m server` in its own process, with a fresh DATA_DIR."""

    def __init__(self, env: dict[str, str], run_dir: Path, name: str) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-data-"))
        self.env = {**env, "PORT": str(self.port), "DATA_DIR": str(self.data_dir)}
        self.log_path = run_dir / f"server-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = [PY, "-m", "server"]  # an experiment may run a wrapper instead

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> float:
        """Start the process; return seconds from spawn to the first `/ready` = 200."""
        with self.log_path.open("wb") as log_file:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, the app's module
                self.command,
                cwd=self.data_dir.parent,  # not the repo: a developer's .env must not leak in
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace").strip().splitlines()[-15:]
                raise RuntimeError("the service exited at start:\n  " + "\n  ".join(tail))
            try:
                status, _ = http_json(self.port, "GET", "/ready", timeout=2.0)
                if status == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"the service was not ready within {timeout}s")

    def rss_kib(self, pid: int | None = None) -> int | None:
        """VmRSS of the app process alone (the nx-27017 child has its own pid)."""
        try:
            for line in Path(f"/proc/{pid or self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def nx_child(self) -> tuple[int, int] | None:
        """(pid, port) of the embedded nx-27017 server started by this process, if any."""
        for proc_dir in Path("/proc").iterdir():
            if not proc_dir.name.isdigit():
                continue
            try:
                argv = (proc_dir / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            args = [a.decode(errors="replace") for a in argv]
            if "server.db.nx_runner" in args and str(self.pid) in args and "--port" in args:
                return int(proc_dir.name), int(args[args.index("--port") + 1])
        return None

    def stop(self) -> float | None:
        """SIGTERM, as the platform does; return the seconds the shutdown took."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        t0 = time.perf_counter()
        try:
            clean = terminate(self.proc, 30)
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return time.perf_counter() - t0 if clean else None


# ------------------------------------------------------------------ CPU meter

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process (all its threads)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return (total - idle) / CLK_TCK, total / CLK_TCK


def thread_cpu_seconds(pid: int) -> float:
    """utime + stime of one thread (here: the main thread, the app's event loop)."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_queue_wait(pid: int) -> tuple[float, float]:
    """(on-CPU, waiting-for-a-CPU) seconds of a process's main thread (its event loop)."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(on_cpu) / 1e9, int(waiting) / 1e9


class CpuMeter:
    """Where the CPU went during one phase: the app, its database, the fake Bot API, the
    load generators (this driver's waited-for children), and everything else on the machine
    (other users of a shared machine)."""

    def __init__(self, pids: dict[str, int | None], loop_pid: int | None) -> None:
        self.pids = pids
        self.loop_pid = loop_pid

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.cpu0 = {name: proc_cpu_seconds(pid) for name, pid in self.pids.items()}
        self.children0 = _children_cpu()
        self.machine0 = machine_busy_seconds()
        self.loop0 = run_queue_wait(self.loop_pid) if self.loop_pid else (0.0, 0.0)
        self.loop_cpu0 = thread_cpu_seconds(self.loop_pid) if self.loop_pid else 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t0
        used = {n: proc_cpu_seconds(pid) - self.cpu0[n] for n, pid in self.pids.items()}
        used["load generator"] = _children_cpu() - self.children0
        busy1, _ = machine_busy_seconds()
        busy = busy1 - self.machine0[0]
        ours = sum(used.values())
        self.result = {
            "wall_s": round(wall, 2),
            "cpu_s": {n: round(v, 2) for n, v in used.items()},
            "machine_busy_cores": round(busy / wall, 2),
            "others_busy_cores": round(max(0.0, busy - ours) / wall, 2),
        }
        if self.loop_pid:
            on1, wait1 = run_queue_wait(self.loop_pid)
            loop_cpu = thread_cpu_seconds(self.loop_pid) - self.loop_cpu0
            self.result["cpu_s"]["app: event loop thread"] = round(loop_cpu, 2)
            self.result["cpu_s"]["app: other threads (argon2)"] = round(used["app"] - loop_cpu, 2)
            self.result["event_loop_thread"] = {
                "on_cpu_share": round((on1 - self.loop0[0]) / wall, 3),
                "waiting_for_cpu_share": round((wait1 - self.loop0[1]) / wall, 3),
            }


def cpu_ms_per_unit(cpu: dict[str, Any], units: int) -> dict[str, float]:
    used = cpu["cpu_s"]
    keys = {
        "app event loop": "app: event loop thread",
        "app other threads (hashing)": "app: other threads (argon2)",
        "embedded DB": "nx-27017",
        "fake Bot API": "fake Bot API",
        "load generator": "load generator",
    }
    return {
        label: round(used.get(key, 0.0) / max(units, 1) * 1000, 2) for label, key in keys.items()
    }


def median_dict(dicts: list[dict[str, float]]) -> dict[str, float]:
    return (
        {key: round(statistics.median(d[key] for d in dicts), 2) for key in dicts[0]}
        if dicts
        else {}
    )


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- load drivers


def loadgen(*args: str, timeout: float = 300.0) -> dict[str, Any]:
    proc = subprocess.run(  # noqa: S603 - our interpreter, our script
        [PY, str(BENCH / "loadgen.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen {args[0]} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_wrk(allow_install: bool) -> str | None:
    """wrk from PATH; else, as root with apt-get and when allowed, Debian's package."""
    found = shutil.which("wrk")
    if found or not allow_install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (
        ["apt-get", "install", "-y", "-qq", "wrk"],
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "wrk"],
    ):
        if step[1] == "update" and shutil.which("wrk"):
            break
        log("wrk is missing: " + " ".join(step))
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(step, env=env, capture_output=True, timeout=180, check=False)  # noqa: S603
    return shutil.which("wrk")


def wrk(
    wrk_path: str, url: str, headers: dict[str, str], concurrency: int, duration: float
) -> dict[str, Any]:
    command = [
        wrk_path,
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk_json.lua"),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    proc = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "non_2xx": raw["non_2xx"],
        "errors": errors,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }


class Profiler:
    """py-spy record of the service (and its nx-27017 child) during one phase, when asked."""

    def __init__(self, enabled: bool, out_dir: Path) -> None:
        self.py_spy = shutil.which("py-spy") or (
            str(Path(PY).parent / "py-spy") if (Path(PY).parent / "py-spy").exists() else None
        )
        self.enabled = enabled and self.py_spy is not None
        self.out_dir = out_dir
        if enabled and not self.enabled:
            log("--profile: py-spy not found (pip install py-spy into the venv); no profiles")

    @contextlib.contextmanager
    def record(self, name: str, pid: int) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        out = self.out_dir / f"{name}.txt"
        proc = subprocess.Popen(  # noqa: S603
            [
                str(self.py_spy),
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--rate",
                "200",
                "--format",
                "raw",
                "--threads",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log(f"profile written: {out}")


# ------------------------------------------------------------------------ phases


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.runs = args.runs
        self.quick = args.quick
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_dir = BENCH / ".runs" / stamp
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for old in sorted((BENCH / ".runs").iterdir())[:-5]:  # keep the last five runs' logs
            shutil.rmtree(old, ignore_errors=True)
        self.results: dict[str, Any] = {"phases": {}, "rss_timeline_mib": {}}
        self.errors: dict[str, str] = {}
        self.external_uri = os.environ.get("MONGODB_URI") or None
        self.db_name = f"bench_{uuid.uuid4().hex[:8]}" if self.external_uri else "assistant"
        self.argon2 = {
            "time_cost": int(os.environ.get("ARGON2_TIME_COST") or 2),
            "memory_cost": int(os.environ.get("ARGON2_MEMORY_COST") or 19 * 1024),
            "parallelism": int(os.environ.get("ARGON2_PARALLELISM") or 1),
        }
        self.cores = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        self.profiler = Profiler(args.profile, self.run_dir / "profiles")
        self.service: Service | None = None
        self.fake: FakeBot | None = None
        self.wrk_path: str | None = None

    # -------------------------------------------------------------- plumbing

    def env(self) -> dict[str, str]:
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
            }
        )
        return env

    def phase(self, name: str, fn: Callable[[], Any]) -> Any:
        log(f"phase: {name}")
        t0 = time.perf_counter()
        try:
            out = fn()
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            (self.run_dir / f"error-{name}.txt").write_text(traceback.format_exc())
            log(f"phase {name} failed: {exc}")
            return None
        finally:
            took = round(time.perf_counter() - t0, 1)
            self.results.setdefault("phase_seconds", {})[name] = took
        self.results["phases"][name] = out
        return out

    def rss_mark(self, label: str) -> None:
        if self.service is not None and (kib := self.service.rss_kib()) is not None:
            self.results["rss_timeline_mib"][label] = round(kib / 1024, 1)

    @property
    def port(self) -> int:
        assert self.service is not None
        return self.service.port

    def meter(self) -> CpuMeter:
        assert self.service is not None
        assert self.fake is not None
        child = self.service.nx_child()
        pids = {
            "app": self.service.pid,
            "nx-27017": child[0] if child else None,
            "fake Bot API": self.fake.proc.pid,
        }
        return CpuMeter(pids, loop_pid=self.service.pid)

    def mongo_uri(self) -> str:
        if self.external_uri:
            return self.external_uri
        assert self.service is not None
        child = self.service.nx_child()
        if child is None:
            raise RuntimeError("cannot find the embedded nx-27017 child")
        return f"mongodb://127.0.0.1:{child[1]}/"

    # ---------------------------------------------------------------- phases

    def machine(self) -> dict[str, Any]:
        cpu = "unknown"
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        mem_kib = 0
        with contextlib.suppress(OSError, ValueError):
            mem_kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])

        def version(pkg: str) -> str | None:
            try:
                return metadata.version(pkg)
            except metadata.PackageNotFoundError:
                return None

        def git(*args: str) -> str:
            if not shutil.which("git"):
                return "unknown"
            proc = subprocess.run(  # noqa: S603
                ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            return proc.stdout.strip()

        return {
            "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu,
            "cores": self.cores,
            "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "git_head": git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "loadavg_at_start": os.getloadavg(),
            "packages": {
                p: version(p)
                for p in (
                    "aiohttp",
                    "argon2-cffi",
                    "PyJWT",
                    "pymongo",
                    "beanie",
                    "python-telegram-bot",
                    "nx-27017",
                )
            },
            "database": "MONGODB_URI (external)" if self.external_uri else "embedded nx-27017",
            "argon2": self.argon2,
            "log_level": self.args.log_level,
        }

    def cold_start(self) -> dict[str, Any]:
        """Start a fresh process per run; keep the last one running for the other phases."""
        env = self.env()
        starts, idle, nx_idle, stops = [], [], [], []
        for i in range(self.runs):
            service = Service(env, self.run_dir, f"run{i + 1}")
            seconds = service.start()
            starts.append(round(seconds, 3))
            time.sleep(1.0)  # idle: nothing but the process and its database
            idle.append(round((service.rss_kib() or 0) / 1024, 1))
            child = service.nx_child()
            if child:
                nx_idle.append(round((service.rss_kib(child[0]) or 0) / 1024, 1))
            log(f"  cold start {i + 1}: {seconds:.3f}s, idle RSS {idle[-1]} MiB")
            if i < self.runs - 1:
                stops.append(service.stop())
            else:
                self.service = service
        self.rss_mark("idle (after start)")
        return {
            "seconds": starts,
            "median_s": median(starts),
            "idle_rss_mib": idle,
            "idle_rss_median_mib": median(idle),
            "nx_child_idle_rss_mib": nx_idle,
            "sigterm_stop_seconds": [round(s, 3) if s else None for s in stops],
        }

    def inproc(self) -> dict[str, Any]:
        command = [PY, str(BENCH / "inproc.py"), "--repeats", "5" if self.quick else "11"]
        command += ["--mongo-uri", self.mongo_uri()]
        proc = subprocess.run(  # noqa: S603
            command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-3000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def register(self, username: str, password: str) -> dict[str, Any]:
        status, body = http_json(
            self.port, "POST", "/api/auth/register", {"username": username, "password": password}
        )
        if status != 201:
            raise RuntimeError(f"register {username}: {status} {body}")
        return body

    def throughput(self) -> dict[str, Any]:
        assert self.service is not None
        me = self.register(f"bench_me_{secrets.token_hex(3)}", secrets.token_urlsafe(18))
        targets = {
            "health": ("/health", {}),
            "me_bearer": ("/api/auth/me", {"Authorization": f"Bearer {me['access_token']}"}),
            "me_bot_user": (
                "/api/auth/me",
                {"Authorization": f"Bot {BOT_API_TOKEN}", "X-Telegram-User-Id": str(BOT_USER_ID)},
            ),
        }
        duration = 2.0 if self.quick else 5.0
        concurrency = 64

        def once(path: str, headers: dict[str, str], seconds: float) -> dict[str, Any]:
            url = self.service.base + path  # type: ignore[union-attr]
            if self.wrk_path:
                return wrk(self.wrk_path, url, headers, concurrency, seconds)
            args = [
                "fixed",
                "--url",
                url,
                "--concurrency",
                str(concurrency),
                "--duration",
                str(seconds),
            ]
            for name, value in headers.items():
                args += ["--header", f"{name}: {value}"]
            return loadgen(*args)

        for path, headers in targets.values():  # warm-up: connections, caches, the bot user
            once(path, headers, 1.0)
        out: dict[str, Any] = {
            "concurrency": concurrency,
            "duration_s": duration,
            "tool": "wrk" if self.wrk_path else "aiohttp-loadgen",
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for i in range(self.runs):
            for name, (path, headers) in targets.items():
                with self.profiler.record(f"{name}-{i + 1}", self.service.pid), self.meter() as cpu:
                    r = once(path, headers, duration)
                r["cpu"] = cpu.result
                runs[name].append(r)
                log(
                    f"  {name} run {i + 1}: {r['rps']} req/s, p50 {r['p50_ms']:.2f} ms, "
                    f"p99 {r['p99_ms']:.2f} ms, non-2xx {r['non_2xx']}"
                )
        for name, rs in runs.items():
            out[name] = {
                "runs": rs,
                "rps": median([r["rps"] for r in rs]),
                "p50_ms": median([r["p50_ms"] for r in rs]),
                "p99_ms": median([r["p99_ms"] for r in rs]),
                "non_2xx": sum(r["non_2xx"] for r in rs),
            }
        self.rss_mark("after throughput runs")
        return out

    def argon2_floor(self, seconds: float) -> dict[str, float]:
        """Verifies/s of one thread, and of `cores` threads together, same parameters."""
        from argon2 import PasswordHasher, Type

        hasher = PasswordHasher(type=Type.ID, **self.argon2)
        password = secrets.token_urlsafe(18)
        digest = hasher.hash(password)

        def spin(counts: list[int], index: int, stop_at: float) -> None:
            n = 0
            while time.perf_counter() < stop_at:
                hasher.verify(digest, password)
                n += 1
            counts[index] = n

        def rate(threads: int) -> float:
            counts = [0] * threads
            start = time.perf_counter()
            stop_at = start + seconds
            workers = [
                threading.Thread(target=spin, args=(counts, i, stop_at)) for i in range(threads)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            return sum(counts) / (time.perf_counter() - start)

        single = rate(1)
        parallel = rate(self.cores)
        return {"single_thread_per_s": round(single, 2), "parallel_per_s": round(parallel, 2)}

    def logins(self) -> dict[str, Any]:
        assert self.service is not None
        concurrency = 32
        users = []
        for i in range(concurrency):
            password = secrets.token_urlsafe(18)
            username = f"bench_login_{i:03d}_{secrets.token_hex(2)}"
            self.register(username, password)
            users.append([username, password])
        users_file = self.run_dir / "login_users.json"
        users_file.write_text(json.dumps(users))
        duration = 3.0 if self.quick else 8.0
        floor_seconds = 1.5 if self.quick else 2.5
        runs = []
        for i in range(self.runs):
            floor = self.argon2_floor(floor_seconds)
            with (
                self.profiler.record(f"login-storm-{i + 1}", self.service.pid),
                self.meter() as cpu,
            ):
                storm = loadgen(
                    "login",
                    "--base",
                    self.service.base,
                    "--users",
                    str(users_file),
                    "--concurrency",
                    str(concurrency),
                    "--duration",
                    str(duration),
                )
            target = self.cores * floor["single_thread_per_s"]
            run = {
                **storm,
                "cpu": cpu.result,
                "cpu_ms_per_login": cpu_ms_per_unit(cpu.result, storm["requests_total"]),
                "argon2": floor,
                "floor_per_s": round(target, 2),
                "ratio": round(storm["logins_per_s"] / target, 3),
                "ratio_vs_parallel_measured": round(
                    storm["logins_per_s"] / floor["parallel_per_s"], 3
                ),
            }
            runs.append(run)
            probe = storm["health_probe"]
            log(
                f"  login run {i + 1}: {storm['logins_per_s']} logins/s vs floor "
                f"{target:.1f} ({run['ratio']}x); /health p99 {probe['p99_ms']} ms "
                f"over {probe['n']} probes; statuses {storm['statuses']}"
            )
        self.rss_mark("after login storms")
        return {
            "concurrency": concurrency,
            "duration_s": duration,
            "cores": self.cores,
            "hash_workers": os.environ.get("HASH_WORKERS") or "0 (one per core)",
            "runs": runs,
            "logins_per_s": median([r["logins_per_s"] for r in runs]),
            "floor_per_s": median([r["floor_per_s"] for r in runs]),
            "ratio": median([r["ratio"] for r in runs]),
            "parallel_measured_per_s": median([r["argon2"]["parallel_per_s"] for r in runs]),
            "ratio_vs_parallel": median([r["ratio_vs_parallel_measured"] for r in runs]),
            "cpu_ms_per_login": median_dict([r["cpu_ms_per_login"] for r in runs]),
            "verify_ms_single_thread": round(
                1000 / median([r["argon2"]["single_thread_per_s"] for r in runs]), 2
            ),
            "health_p99_ms": median([r["health_probe"]["p99_ms"] for r in runs]),
            "health_p50_ms": median([r["health_probe"]["p50_ms"] for r in runs]),
            "health_max_ms": max(r["health_probe"]["max_ms"] or 0 for r in runs),
            "health_probes": sum(r["health_probe"]["n"] for r in runs),
            "non_200": sum(n for r in runs for s, n in r["statuses"].items() if s != "200"),
        }

    def form_flood(self) -> dict[str, Any]:
        """Issue 9's one-request freeze: 4 clients post the largest allowed `a&a&…` login
        form back to back (parsing was quadratic: one took 21 s) while /health is probed."""
        assert self.service is not None
        duration = 3.0 if self.quick else 8.0
        runs = []
        for i in range(self.runs):
            run = loadgen("forms", "--base", self.service.base, "--duration", str(duration))
            runs.append(run)
            log(
                f"  form flood run {i + 1}: {run['forms']} forms, p99 "
                f"{run['form_latency']['p99_ms']} ms; /health p99 "
                f"{run['health_probe']['p99_ms']} ms over {run['health_probe']['n']} probes"
            )
        return {
            "duration_s": duration,
            "runs": runs,
            "forms": sum(r["forms"] for r in runs),
            "statuses": dict(sum((Counter(r["statuses"]) for r in runs), Counter())),
            "form_p99_ms": median([r["form_latency"]["p99_ms"] for r in runs]),
            "health_p99_ms": median([r["health_probe"]["p99_ms"] for r in runs]),
        }

    def webhook_load(
        self, count: int, concurrency: int, update_base: int, user_base: int, redeliver: int = 0
    ) -> dict[str, Any]:
        """Post `count` /start updates from distinct users to the service's webhook."""
        return loadgen(
            "webhook",
            "--base", self.service.base,
            "--secret", WEBHOOK_SECRET,
            "--count", str(count),
            "--concurrency", str(concurrency),
            "--update-base", str(update_base),
            "--user-base", str(user_base),
            "--redeliver", str(redeliver),
        )  # fmt: skip

    def webhook(self) -> dict[str, Any]:
        assert self.service is not None
        assert self.fake is not None
        from pymongo import MongoClient

        count = 200 if self.quick else 1000
        concurrency = 50
        redeliver = 100 if count >= 100 else count
        db = MongoClient(self.mongo_uri(), serverSelectionTimeoutMS=10000)[self.db_name]
        runs = []
        for i in range(self.runs):
            update_base = 10_000_000 * (i + 1)
            user_base = 5_000_000_000 + 1_000_000 * (i + 1)
            self.fake.call("benchReset")
            with self.profiler.record(f"webhook-{i + 1}", self.service.pid), self.meter() as cpu:
                acks = self.webhook_load(count, concurrency, update_base, user_base, redeliver)
                chats = {"chat_min": user_base, "chat_max": user_base + count - 1}
                deadline = time.monotonic() + 120
                stats = self.fake.call("benchStats", **chats)
                while stats["send_message"] < count and time.monotonic() < deadline:
                    time.sleep(0.05)
                    stats = self.fake.call("benchStats", **chats)
            time.sleep(1.0)  # time for a wrongly re-handled redelivery to show up
            stats = self.fake.call("benchStats", **chats)
            recorded = db.telegram_updates.count_documents(
                {"update_id": {"$gte": update_base, "$lt": update_base + count}}
            )
            users = db.users.count_documents(
                {"telegram_id": {"$gte": user_base, "$lt": user_base + count}}
            )
            handled_s = (stats["last"] - acks["t_first_send_monotonic"]) if stats["last"] else None
            redelivered_ok = acks["redelivered"].get("statuses", {}).get("200", 0)
            exactly_once = (
                acks["acked"] == count
                and stats["send_message"] == count
                and stats["distinct_chats"] == count
                and stats["chats_more_than_once"] == 0
                and recorded == count
                and users == count
                and redelivered_ok == redeliver
            )
            run = {
                "count": count,
                "acked_200": acks["acked"],
                "ack_statuses": acks["statuses"],
                "ack_errors": acks["errors"],
                "ack_latency": acks["ack_latency"],
                "acks_per_s": acks["acks_per_s"],
                "replies": stats["send_message"],
                "distinct_chats": stats["distinct_chats"],
                "chats_replied_more_than_once": stats["chats_more_than_once"],
                "updates_recorded": recorded,
                "users_created": users,
                "redelivered": redeliver,
                "redelivered_acked_200": redelivered_ok,
                "handled_seconds": round(handled_s, 3) if handled_s else None,
                "handled_per_s": round(count / handled_s, 1) if handled_s else None,
                "exactly_once": exactly_once,
                "cpu": cpu.result,
                "cpu_ms_per_update": cpu_ms_per_unit(cpu.result, count + redeliver),
            }
            runs.append(run)
            log(
                f"  webhook run {i + 1}: acked {acks['acked']}/{count}, replies "
                f"{stats['send_message']} to {stats['distinct_chats']} chats, recorded "
                f"{recorded}, users {users}; ack p99 {acks['ack_latency']['p99_ms']} ms, "
                f"{acks['acks_per_s']} acks/s, handled {run['handled_per_s']}/s; "
                f"exactly once: {exactly_once}"
            )
        db.client.close()
        # The same path one update at a time: the ack's own cost, without queueing.
        single = self.webhook_load(100, 1, update_base=90_000_000, user_base=5_900_000_000)
        log(
            f"  webhook at concurrency 1: ack p50 {single['ack_latency']['p50_ms']} ms, "
            f"p99 {single['ack_latency']['p99_ms']} ms"
        )
        self.rss_mark("after webhook runs")
        return {
            "count": count,
            "concurrency": concurrency,
            "concurrency_1": {
                "count": 100,
                "ack_latency": single["ack_latency"],
                "acks_per_s": single["acks_per_s"],
            },
            "runs": runs,
            "exactly_once": all(r["exactly_once"] for r in runs),
            "ack_p99_ms": median([r["ack_latency"]["p99_ms"] for r in runs]),
            "ack_p50_ms": median([r["ack_latency"]["p50_ms"] for r in runs]),
            "acks_per_s": median([r["acks_per_s"] for r in runs]),
            "handled_per_s": median([r["handled_per_s"] for r in runs]),
            "cpu_ms_per_update": median_dict([r["cpu_ms_per_update"] for r in runs]),
        }

    def memory(self) -> dict[str, Any]:
        assert self.service is not None
        from argon2 import PasswordHasher, Type
        from bson import ObjectId
        from pymongo import MongoClient

        from server.services.tokens import AccessTokens

        count = 1000 if self.quick else 10_000
        before = self.service.rss_kib()
        hasher = PasswordHasher(type=Type.ID, **self.argon2)
        password_hash = hasher.hash(secrets.token_urlsafe(18))  # same parameters as the app
        db = MongoClient(self.mongo_uri(), serverSelectionTimeoutMS=10000)[self.db_name]
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        ids = [ObjectId() for _ in range(count)]
        tag = secrets.token_hex(2)
        docs = [
            {
                "_id": oid,
                "username": f"mem_{tag}_{k:05d}",
                "username_normalized": f"mem_{tag}_{k:05d}",
                "password_hash": password_hash,
                "telegram_id": None,
                "telegram_username": None,
                "first_name": None,
                "last_name": None,
                "language_code": None,
                "created_at": now,
                "updated_at": now,
            }
            for k, oid in enumerate(ids)
        ]
        t0 = time.perf_counter()
        for start in range(0, count, 500):
            db.users.insert_many(docs[start : start + 500], ordered=False)
        insert_s = time.perf_counter() - t0
        total_users = db.users.count_documents({})
        db.client.close()
        self.rss_mark(f"after inserting {count} users")
        tokens = AccessTokens(JWT_SECRET.encode(), JWT_ISSUER, JWT_AUDIENCE, 3600)
        tokens_file = self.run_dir / "memory_tokens.json"
        tokens_file.write_text(json.dumps([tokens.issue(str(oid)) for oid in ids]))
        with self.meter() as cpu:
            sweep = loadgen(
                "sweep",
                "--url",
                f"{self.service.base}/api/auth/me",
                "--tokens",
                str(tokens_file),
                "--concurrency",
                "64",
            )
        sweep["cpu"] = cpu.result
        tokens_file.unlink()
        time.sleep(2.0)
        after = self.service.rss_kib()
        self.rss_mark(f"after {count} users each served GET /api/auth/me")
        child = self.service.nx_child()
        log(
            f"  {count} users inserted in {insert_s:.1f}s, GET /me for each: {sweep['rps']} "
            f"req/s {sweep['statuses']}; RSS {before} -> {after} KiB"
        )
        return {
            "users_inserted": count,
            "how": "inserted with pymongo (argon2id hash precomputed with the app's parameters), "
            "then each one served once by the app: GET /api/auth/me with its Bearer token",
            "insert_seconds": round(insert_s, 2),
            "users_in_db": total_users,
            "sweep": sweep,
            "rss_before_mib": round((before or 0) / 1024, 1),
            "rss_after_mib": round((after or 0) / 1024, 1),
            "nx_child_rss_mib": round((self.service.rss_kib(child[0]) or 0) / 1024, 1)
            if child
            else None,
        }

    # ------------------------------------------------------------------ main

    def run(self) -> int:
        t_start = time.perf_counter()
        self.results["machine"] = self.machine()
        self.wrk_path = None if self.args.no_wrk else ensure_wrk(not self.args.no_install)
        self.results["machine"]["load_generator"] = (
            subprocess.run(  # noqa: S603 - the wrk found above
                [self.wrk_path, "--version"],
                capture_output=True,
                text=True,
                check=False,
            )
            .stdout.splitlines()[0]
            .strip()
            if self.wrk_path
            else "aiohttp loadgen (wrk not available)"
        )
        log(
            f"load generator: {self.results['machine']['load_generator']}; runs: {self.runs}; "
            f"logs in {self.run_dir.relative_to(ROOT)}"
        )
        try:
            self.fake = FakeBot(self.run_dir)
            if self.phase("cold_start", self.cold_start) is None:
                log("the service could not be started; nothing else to measure")
                self.write(time.perf_counter() - t_start)
                return 1
            self.phase("inproc", self.inproc)
            self.phase("throughput", self.throughput)
            self.phase("logins", self.logins)
            self.phase("form_flood", self.form_flood)
            self.phase("webhook", self.webhook)
            self.phase("memory", self.memory)
        finally:
            if self.service is not None:
                self.results["sigterm_stop_seconds_last"] = self.service.stop()
            if self.fake is not None:
                self.fake.stop()
            if self.external_uri:
                with contextlib.suppress(Exception):
                    from pymongo import MongoClient

                    MongoClient(self.external_uri).drop_database(self.db_name)
        self.results["machine"]["loadavg_at_end"] = os.getloadavg()
        self.write(time.perf_counter() - t_start)
        return 0

    def write(self, seconds: float) -> None:
        from report import render_markdown, table_rows

        self.results["total_seconds"] = round(seconds, 1)
        self.results["errors"] = self.errors
        self.results["runs"] = self.runs
        self.results["quick"] = self.quick
        self.results["table"] = table_rows(self.results)
        out_dir = Path(self.args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(self.results, indent=2) + "\n")
        (out_dir / "results.md").write_text(render_markdown(self.results))
        log(f"wrote {out_dir / 'results.md'} and results.json in {seconds:.0f}s")
        for row in self.results["table"]:
            log(f"  {row['figure']}: {row['value']} (target {row['target']}: {row['met']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeats per figure (median)")
    parser.add_argument("--quick", action="store_true", help="1 run, short phases: a smoke test")
    parser.add_argument("--profile", action="store_true", help="py-spy the service per phase")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp client throughout")
    parser.add_argument("--log-level", default="INFO", help="the service's LOG_LEVEL")
    parser.add_argument("--out", default=str(BENCH), help="where results.md/.json go")
    args = parser.parse_args()
    if args.quick and args.runs == 3:
        args.runs = 1
    if os.environ.get("BENCH_INSTALL_WRK") == "0":
        args.no_install = True
    raise SystemExit(Bench(args).run())


if __name__ == "__main__":
    main()

"""The processes under test: the service (`python -m server`) and the fake Bot API."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
PY = sys.executable


class ServiceStartError(RuntimeError):
    """The service could not be started: nothing can be measured (the bench exits 1)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """One request on a fresh connection; the body as JSON when it parses."""
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


def rss_kib(pid: int) -> int | None:
    """VmRSS of one process (the nx-27017 child has its own pid, so it is not included)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class FakeBot:
    """bench/fake_bot.py in its own process: the bot's replies land there and are counted."""

    def __init__(self, token: str, run_dir: Path) -> None:
        self.token = token
        self._log = (run_dir / "fake_bot.log").open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [PY, str(BENCH / "fake_bot.py"), token],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise ServiceStartError("the fake Bot API did not start; see fake_bot.log")
        self.url = json.loads(line)["url"]
        self.port = int(self.url.rsplit(":", 1)[1])

    def call(self, method: str, **params: Any) -> Any:
        status, body = http_json(self.port, "POST", f"/bot{self.token}/{method}", params)
        if status != 200 or not body.get("ok"):
            raise RuntimeError(f"fake Bot API {method}: {status} {body}")
        return body["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            terminate(self.proc, 10)
        self._log.close()


class Service:
    """`python -m server` in its own process, with a fresh DATA_DIR."""

    def __init__(self, env: dict[str, str], run_dir: Path, name: str) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-data-"))
        self.env = {**env, "PORT": str(self.port), "DATA_DIR": str(self.data_dir)}
        self.log_path = run_dir / f"server-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> float:
        """Start the process; return seconds from spawn to the first `/ready` = 200."""
        with self.log_path.open("wb") as log_file:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, the app's module
                [PY, "-m", "server"],
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
                raise ServiceStartError("the service exited at start:\n  " + "\n  ".join(tail))
            try:
                status, _ = http_json(self.port, "GET", "/ready", timeout=2.0)
                if status == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.005)
        raise ServiceStartError(f"the service was not ready within {timeout}s")

    def rss_kib(self) -> int | None:
        return rss_kib(self.pid)

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

    def wait_responsive(self, deadline_s: float) -> float | None:
        """Seconds until `GET /health` answers (a server busy on the CPU answers late);
        None when it did not within `deadline_s`."""
        t0 = time.perf_counter()
        while (left := deadline_s - (time.perf_counter() - t0)) > 0:
            try:
                if http_json(self.port, "GET", "/health", timeout=left)[0] == 200:
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.1)
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

"""Running the real service as a child process (`python -m server`), as production does."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import aiohttp

from server.db.embedded import free_port
from tests.conftest import CHEAP_ARGON2, TEST_JWT_SECRET

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_LINE = re.compile(r"embedded nx-27017 on 127\.0\.0\.1:(\d+)")


def child_env(**env: str) -> dict[str, str]:
    """A minimal environment for a child `python -m server …`: PATH, coverage's variables
    when the suite runs under `make coverage` (so the child is measured too), and `env`."""
    passed = {k: v for k, v in os.environ.items() if k == "PATH" or k.startswith("COVERAGE_")}
    return {**passed, **env}


class ServiceProcess:
    def __init__(self, data_dir: Path, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = child_env(**{
            "PORT": str(self.port),
            "DATA_DIR": str(data_dir),
            "JWT_SECRET": TEST_JWT_SECRET,
            "LOG_LEVEL": "INFO",
            **{key.upper(): str(value) for key, value in CHEAP_ARGON2.items()},
            **env,
        })  # fmt: skip
        if os.environ.get("MONGODB_URI"):
            self.env["MONGODB_URI"] = os.environ["MONGODB_URI"]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, seconds: float = 30.0, until: str = "/ready") -> None:
        """Start `python -m server` and wait until `until` answers 200."""
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server", cwd=ROOT, env=self.env,
                stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise AssertionError(f"service exited at start:\n{self.log()}")
                try:
                    async with session.get(f"{self.url}{until}") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"service not ready in {seconds}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def embedded_port(self) -> int:
        ports = EMBEDDED_LINE.findall(self.log())
        assert ports, "the log names no embedded database"
        return int(ports[-1])

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait(self, seconds: float = 30.0) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), seconds)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await self.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

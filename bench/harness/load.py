"""Running load from the driver: a client coroutine in its own process, or wrk."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from bench.harness.procs import BENCH, PY, ROOT


def run_client(target: str, timeout: float = 600.0, **kwargs: Any) -> dict[str, Any]:
    """Run `module:coroutine` (see bench/harness/client.py) in its own process; its CPU is
    then the driver's child CPU, which the CpuMeter counts as the load generator's."""
    proc = subprocess.run(  # noqa: S603 - our interpreter, our module
        [PY, "-m", "bench.harness.client", target],
        cwd=ROOT,
        input=json.dumps(kwargs),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"client {target} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def find_wrk() -> str | None:
    """wrk from PATH. The Makefile's bench target installs it; Python never does."""
    return shutil.which("wrk")


def wrk_version(path: str) -> str:
    proc = subprocess.run(  # noqa: S603 - the wrk found on PATH
        [path, "--version"], capture_output=True, text=True, check=False
    )
    return (proc.stdout.splitlines() or ["wrk"])[0].strip()


def wrk(
    path: str, url: str, headers: dict[str, str], concurrency: int, duration: float
) -> dict[str, Any]:
    command = [path, "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s"]
    command += ["--timeout", "10s", "-s", str(BENCH / "wrk_json.lua")]
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


def fixed_load(
    wrk_path: str | None, url: str, headers: dict[str, str], concurrency: int, seconds: float
) -> dict[str, Any]:
    """One fixed GET at `concurrency`: wrk when present (the cheapest client per request on
    a machine the service shares), else the aiohttp client."""
    if wrk_path:
        return wrk(wrk_path, url, headers, concurrency, seconds)
    return run_client(
        "bench.harness.client:fixed",
        url=url,
        headers=headers,
        concurrency=concurrency,
        duration=seconds,
    )

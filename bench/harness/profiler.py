"""`--profile`: py-spy records the service (and its nx-27017 child) during a load phase."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness.procs import PY, log


class Profiler:
    def __init__(self, enabled: bool, out_dir: Path) -> None:
        local = Path(PY).parent / "py-spy"
        self.py_spy = shutil.which("py-spy") or (str(local) if local.exists() else None)
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
            [str(self.py_spy), "record", "--pid", str(pid), "--subprocesses", "--rate", "200",
             "--format", "raw", "--threads", "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)  # py-spy attaches before the load starts
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log(f"profile written: {out}")

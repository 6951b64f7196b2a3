"""The auth middleware's cost per scheme, in-process, against the library floor.

The measuring itself is bench/inproc.py, in its own process, on the service's database.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from bench.harness.procs import BENCH, PY, ROOT
from bench.harness.report import Row, X, absent, row, yes

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "middleware"
TARGET = f"≤ 1.5 {X} floor"
LABELS = {  # scheme: (what is called, against which floor)
    "bearer": ("Bearer", "jwt.decode, same token and checks"),
    "bot": ("Bot, no X-Telegram-User-Id (the bot as itself)", "one HMAC-SHA256 of the token"),
    "bot_user": ("Bot + X-Telegram-User-Id (a known user, caches warm)", "one HMAC-SHA256"),
    "tma": ("tma (a known user, caches warm)", "one HMAC-SHA256 of the same data"),
}


def run(bench: Bench) -> dict[str, Any]:
    command = [PY, str(BENCH / "inproc.py"), "--repeats", "5" if bench.quick else "11"]
    command += ["--mongo-uri", bench.mongo_uri()]
    proc = subprocess.run(  # noqa: S603
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    out = []
    for scheme, (name, floor_name) in LABELS.items():
        figure = f"auth middleware µs/op: {name} vs {floor_name}"
        if (why := absent(result, error)) is not None:
            out.append(row(figure, why, TARGET, "n/a"))
            continue
        assert result is not None
        us, ratio = result["us_per_op"], result["ratio"][scheme]
        mw, floor = us[f"{scheme}_middleware"], us[f"{scheme}_floor"]
        value = f"{mw:.2f} µs vs {floor:.2f} µs → {ratio:.2f}{X}"
        out.append(row(figure, value, TARGET, yes(ratio <= 1.5)))
    return out


def details(result: dict[str, Any]) -> list[str]:
    us, extra = result["us_per_op"], result["middleware_overhead_us"]
    return [
        f"Auth middleware, in-process (µs/op, median of {result['repeats']} interleaved repeats):",
        "",
        "| step | Bearer | Bot | Bot + user | tma |",
        "| --- | --- | --- | --- | --- |",
        f"| library floor | {us['bearer_floor']} | {us['bot_floor']} | {us['bot_floor']} | "
        f"{us['tma_floor']} |",
        "| service call (`AccessTokens.verify` / — / — / `InitDataVerifier.verify`) | "
        f"{us['bearer_service']} | — | — | {us['tma_verify']} |",
        f"| auth middleware | {us['bearer_middleware']} | {us['bot_middleware']} | "
        f"{us['bot_user_middleware']} | {us['tma_middleware']} |",
        f"| middleware minus the service call (or the floor) | {extra['bearer']} | "
        f"{extra['bot']} | {extra['bot_user']} | {extra['tma']} |",
        "",
        f"A pass-through middleware (`return await handler(request)`) costs "
        f"{us['passthrough_middleware']} µs; the app's whole middleware chain with Bearer "
        f"costs {us['bearer_full_chain']} µs. tma init data: {result['init_data_bytes']} "
        "bytes.",
        "",
    ]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return []

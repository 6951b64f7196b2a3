"""The tests' fake Telegram Bot API, run as its own process for the webhook benchmark.

`python bench/fake_bot.py TOKEN` serves on a free loopback port, prints one JSON line
`{"url": "http://127.0.0.1:PORT"}` and runs until SIGTERM/SIGINT. The bot's replies land
here, so the benchmark can check that every update was handled exactly once.

Two extra Bot API "methods" exist for the benchmark driver only:
- `benchStats` (params `chat_min`, `chat_max`, optional `not_before` in epoch seconds): for
  the `sendMessage` calls to chats in that range: how many, to how many distinct chats, how
  many chats or (chat, text) pairs got more than one, how many came before `not_before`,
  the most sent within any one second, and the monotonic and wall-clock time of the first
  and last one (CLOCK_MONOTONIC is system-wide on Linux, so the driver can compare it with
  its own);
- `benchReset`: forget recorded calls (keeps memory flat across runs).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_bot_api import FakeBotAPI  # noqa: E402 - needs the repo root on sys.path


class Sent(NamedTuple):
    monotonic: float
    wall: float
    chat: int
    text: str


def _peak_per_second(times: list[float]) -> int:
    """The most sends within any window of one second (`times` sorted)."""
    peak, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


class BenchFakeBotAPI(FakeBotAPI):
    def __init__(self, token: str) -> None:
        self.sent: list[Sent] = []
        super().__init__(token)

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = await super()._api_sendmessage(params)
        sent = Sent(time.monotonic(), time.time(), int(params["chat_id"]), str(params["text"]))
        self.sent.append(sent)
        return message

    async def _api_benchstats(self, params: dict[str, Any]) -> dict[str, Any]:
        low = int(params.get("chat_min", -(2**63)))
        high = int(params.get("chat_max", 2**63))
        not_before = float(params.get("not_before", 0))
        sent = [s for s in self.sent if low <= s.chat <= high]
        times = sorted(s.monotonic for s in sent)
        per_chat = Counter(s.chat for s in sent)
        per_text = Counter((s.chat, s.text) for s in sent)
        return {
            "send_message": len(sent),
            "distinct_chats": len(per_chat),
            "chats_more_than_once": sum(1 for n in per_chat.values() if n > 1),
            "texts_more_than_once": sum(1 for n in per_text.values() if n > 1),
            "before_not_before": sum(1 for s in sent if s.wall < not_before),
            "peak_per_second": _peak_per_second(times),
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "first_wall": min((s.wall for s in sent), default=None),
            "last_wall": max((s.wall for s in sent), default=None),
            "methods": dict(Counter(call.method for call in self.calls)),
        }

    async def _api_benchreset(self, params: dict[str, Any]) -> bool:
        self.sent.clear()
        self.calls.clear()
        return True


async def main(token: str) -> None:
    fake = BenchFakeBotAPI(token)
    url = await fake.start()
    print(json.dumps({"url": url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""The tests' fake Telegram Bot API, run as its own process for the webhook benchmark.

`python bench/fake_bot.py TOKEN` serves on a free loopback port, prints one JSON line
`{"url": "http://127.0.0.1:PORT"}` and runs until SIGTERM/SIGINT. The bot's replies land
here, so the benchmark can check that every update was handled exactly once.

Two extra Bot API "methods" exist for the benchmark driver only:
- `benchStats` (params `chat_min`, `chat_max`): how many `sendMessage` calls went to chats
  in that range, how many distinct chats, and the monotonic time of the first and last one
  (CLOCK_MONOTONIC is system-wide on Linux, so the driver can compare it with its own);
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_bot_api import FakeBotAPI  # noqa: E402 - needs the repo root on sys.path


class BenchFakeBotAPI(FakeBotAPI):
    def __init__(self, token: str) -> None:
        self.sent: list[tuple[float, int]] = []  # (monotonic time, chat id) per sendMessage
        super().__init__(token)

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = await super()._api_sendmessage(params)
        self.sent.append((time.monotonic(), int(params["chat_id"])))
        return message

    async def _api_benchstats(self, params: dict[str, Any]) -> dict[str, Any]:
        low = int(params.get("chat_min", -(2**63)))
        high = int(params.get("chat_max", 2**63))
        times = [t for t, chat in self.sent if low <= chat <= high]
        per_chat = Counter(chat for _, chat in self.sent if low <= chat <= high)
        return {
            "send_message": len(times),
            "distinct_chats": len(per_chat),
            "chats_more_than_once": sum(1 for n in per_chat.values() if n > 1),
            "first": min(times) if times else None,
            "last": max(times) if times else None,
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

"""In-process cost of the auth middleware, per scheme, against the raw library floor.

The middleware is the real one, taken from the app that `server.app.create_app` builds
(with its real authenticators and services); requests are
`aiohttp.test_utils.make_mocked_request`s and the handler is a trivial protected coroutine
that returns a prepared response. The models are bound to a real database (`--mongo-uri`,
else a throw-away embedded nx-27017), and every scheme is called once before timing, so the
Telegram user exists and whatever the app caches per process is warm: the figures are the
steady-state per-request cost, database round trips included where the app still makes them.
Each figure is the median over interleaved repeats (the floor and the middleware are timed
back to back in every repeat, and their ratio is taken per repeat).

- Bearer: the middleware vs `jwt.decode` of the same token with the same checks.
- Bot: without `X-Telegram-User-Id` (the bot acting as itself) and with it (acting for a
  Telegram user), vs one HMAC-SHA256 of the token (the issue's floor: "one HMAC for the
  others"; the app itself hashes the token once with SHA-256, which is cheaper still).
- tma: the middleware vs one HMAC-SHA256 over the same data-check string.

    python bench/inproc.py [--mongo-uri URI] [--repeats 11] > result.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402
from beanie import PydanticObjectId  # noqa: E402

from config import load_settings  # noqa: E402
from server.app import create_app  # noqa: E402
from server.auth import authenticators as authenticators_module  # noqa: E402
from server.auth.principal import PRINCIPAL_KEY  # noqa: E402
from server.db.connection import init_models, make_client  # noqa: E402
from server.keys import SERVICES  # noqa: E402

JWT_SECRET = "bench-inproc-jwt-secret-0123456789abcdefghijkl"  # noqa: S105
BOT_TOKEN = "bench-inproc-bot-service-token-0123456789abcdef"  # noqa: S105
TG_TOKEN = "123456:BENCH-inproc-telegram-token-abcdefghijklmno"  # noqa: S105
TELEGRAM_USER_ID = 424242

RESPONSE = web.Response(text="ok")


async def handler(request: web.Request) -> web.StreamResponse:
    return RESPONSE


handler.__requires_auth__ = True  # type: ignore[attr-defined] # what @protected sets


@web.middleware
async def passthrough(request: web.Request, handler: Any) -> web.StreamResponse:
    return await handler(request)


# ------------------------------------------------------------------------- timing


def _calibrate(run_block: Callable[[int], float], target: float) -> int:
    n = 1
    while True:
        elapsed = run_block(n)
        if elapsed >= target / 4:
            return max(1, int(n * target / elapsed))
        n *= 4


def sync_block(fn: Callable[[], object]) -> Callable[[int], float]:
    def run(n: int) -> float:
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            return time.perf_counter() - start
        finally:
            gc.enable()

    return run


def async_block(
    loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[object]]
) -> Callable[[int], float]:
    async def body(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        return time.perf_counter() - start

    def run(n: int) -> float:
        gc.collect()
        gc.disable()
        try:
            return loop.run_until_complete(body(n))
        finally:
            gc.enable()

    return run


def measure(blocks: dict[str, Callable[[int], float]], repeats: int, target: float) -> dict:
    """Per item: µs/op of every repeat; the items are timed back to back in each repeat."""
    sizes = {name: _calibrate(block, target) for name, block in blocks.items()}
    samples: dict[str, list[float]] = {name: [] for name in blocks}
    for _ in range(repeats):
        for name, block in blocks.items():
            samples[name].append(block(sizes[name]) / sizes[name] * 1e6)
    return samples


def med(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def ratio_of(samples: dict[str, list[float]], top: str, bottom: str) -> float:
    return round(
        statistics.median(a / b for a, b in zip(samples[top], samples[bottom], strict=True)), 2
    )


# ------------------------------------------------------------------------ fixtures


def init_data_fields() -> dict[str, str]:
    user = {
        "id": TELEGRAM_USER_ID,
        "first_name": "Bench",
        "last_name": "Mark",
        "username": "bench_user",
        "language_code": "en",
        "allows_write_to_pm": True,
        "photo_url": "https://t.me/i/userpic/320/bench.svg",
    }
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":")),
        "auth_date": str(int(time.time())),
        "signature": "x" * 86,  # newer clients send an Ed25519 signature; it is signed too
    }


def mocked(app: web.Application, headers: dict[str, str]) -> web.Request:
    return make_mocked_request("GET", "/api/auth/me", headers=headers, app=app)


def find_auth_middleware(app: web.Application) -> Any:
    for middleware in app.middlewares:
        if "auth_middleware" in getattr(middleware, "__qualname__", ""):
            return middleware
    raise RuntimeError("no auth middleware in the app")


def chain(app: web.Application) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """All of the app's middlewares around the handler, in aiohttp's order."""
    wrapped: Any = handler
    for middleware in reversed(app.middlewares):

        def bind(mw: Any, inner: Any) -> Any:
            async def call(request: web.Request) -> web.StreamResponse:
                return await mw(request, inner)

            call.__requires_auth__ = True  # type: ignore[attr-defined]
            return call

        wrapped = bind(middleware, wrapped)
    return wrapped


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-inproc-"))
    if args.mongo_uri is None:
        from server.db.embedded import EmbeddedMongo

        embedded = EmbeddedMongo(data_dir / "mongo")
        embedded.start()
        try:
            return run(argparse.Namespace(**{**vars(args), "mongo_uri": embedded.uri}))
        finally:
            embedded.stop()
    settings = load_settings(
        _env_file=None,
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,
        bot_api_tokens=BOT_TOKEN,
        telegram_bot_token=TG_TOKEN,
        mongodb_uri=args.mongo_uri,
        mongodb_db=f"bench_inproc_{uuid.uuid4().hex[:8]}",
    )
    app = create_app(settings)
    services = app[SERVICES]
    middleware = find_auth_middleware(app)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    # The credentials (the Bearer token's user is created once the database is bound: the
    # middleware refuses tokens of users that do not exist).
    bearer_user = PydanticObjectId()
    token = services.access.issue(str(bearer_user), session_id="bench-session")
    issuer, audience = settings.jwt_issuer, settings.jwt_audience
    key = settings.jwt_key
    required = list(getattr(sys.modules["server.services.accounts.tokens"], "REQUIRED_CLAIMS", []))
    fields = init_data_fields()
    verifier = services.auth.init_data
    init_data = urlencode({**fields, "hash": verifier.sign(fields)})
    webapp_key = hmac.new(b"WebAppData", TG_TOKEN.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields)).encode()
    bot_bytes = BOT_TOKEN.encode()

    requests = {
        "bearer": mocked(app, {"Authorization": f"Bearer {token}"}),
        "bot": mocked(app, {"Authorization": f"Bot {BOT_TOKEN}"}),
        "tma": mocked(app, {"Authorization": f"tma {init_data}"}),
        "bot_user": mocked(
            app, {"Authorization": f"Bot {BOT_TOKEN}", "X-Telegram-User-Id": str(TELEGRAM_USER_ID)}
        ),
    }
    full_chain = chain(app)

    def call(name: str, mw: Any = middleware) -> Callable[[], Awaitable[object]]:
        request = requests[name]
        return lambda: mw(request, handler)

    def check_ok(name: str, kind: str) -> None:
        request = requests[name]
        response = loop.run_until_complete(middleware(request, handler))
        principal = request[PRINCIPAL_KEY]
        if response is not RESPONSE or principal.kind != kind:
            raise RuntimeError(f"{name}: the middleware did not accept the credentials")

    def floor_bearer() -> object:
        return jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=audience,
            issuer=issuer,
            options={"require": required},
        )

    result: dict[str, Any] = {
        "python": sys.version.split()[0],
        "pyjwt": jwt.__version__,
        "repeats": args.repeats,
        "block_seconds": args.target,
    }
    client = make_client(settings.mongodb_uri.get_secret_value(), settings.mongodb_timeout)
    try:
        loop.run_until_complete(init_models(client, settings.mongodb_db))
        bench_db = client[settings.mongodb_db]
        loop.run_until_complete(bench_db["users"].insert_one({"_id": bearer_user, "active": True}))
        loop.run_until_complete(
            bench_db["refresh_sessions"].insert_one(
                {"user_id": bearer_user, "family_id": "bench-session", "revoked": False,
                 "token_hash": "bench"}
            )
        )  # fmt: skip
        # Once each before timing: the Telegram user exists, the app's caches are warm.
        for name, kind in (
            ("bearer", "user"),
            ("bot", "bot"),
            ("bot_user", "user"),
            ("tma", "user"),
        ):
            check_ok(name, kind)
        bearer_auth = authenticators_module.BearerAuthenticator(services.access, services.gate)
        blocks = {
            "bearer_floor": sync_block(floor_bearer),
            "bearer_service": sync_block(lambda: services.access.verify(token)),
            "bearer_authenticator": async_block(
                loop, lambda: bearer_auth.authenticate(token, requests["bearer"])
            ),
            "bearer_middleware": async_block(loop, call("bearer")),
            "bearer_full_chain": async_block(loop, lambda: full_chain(requests["bearer"])),
            "bot_floor": sync_block(
                lambda: hmac.new(bot_bytes, bot_bytes, hashlib.sha256).digest()
            ),
            "bot_middleware": async_block(loop, call("bot")),
            "bot_user_middleware": async_block(loop, call("bot_user")),
            "tma_floor": sync_block(
                lambda: hmac.new(webapp_key, check, hashlib.sha256).hexdigest()
            ),
            "tma_verify": sync_block(lambda: verifier.verify(init_data)),
            "tma_middleware": async_block(loop, call("tma")),
            "passthrough_middleware": async_block(loop, call("bearer", passthrough)),
        }
        samples = measure(blocks, args.repeats, args.target)
    finally:
        loop.run_until_complete(client.drop_database(settings.mongodb_db))
        loop.run_until_complete(client.close())
    samples["bot_user_floor"] = samples["bot_floor"]
    result["us_per_op"] = {name: med(values) for name, values in samples.items()}
    result["samples_us"] = {name: [round(v, 3) for v in vs] for name, vs in samples.items()}
    result["ratio"] = {
        scheme: ratio_of(samples, f"{scheme}_middleware", f"{scheme}_floor")
        for scheme in ("bearer", "bot", "bot_user", "tma")
    }

    def minus(top: str, bottom: str) -> float:
        return med([a - b for a, b in zip(samples[top], samples[bottom], strict=True)])

    # What the middleware adds on top of what its scheme's own work costs.
    result["middleware_overhead_us"] = {
        "bearer": minus("bearer_middleware", "bearer_service"),
        "bot": minus("bot_middleware", "bot_floor"),
        "bot_user": minus("bot_user_middleware", "bot_floor"),
        "tma": minus("tma_middleware", "tma_verify"),
    }
    result["init_data_bytes"] = len(init_data)
    loop.run_until_complete(asyncio.to_thread(services.close))
    loop.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongo-uri", default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.05, help="seconds per timed block")
    args = parser.parse_args()
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()

"""The client's address, for per-address limits."""

from aiohttp import web

from server.keys import SETTINGS


def client_address(request: web.Request) -> str:
    """The socket peer, unless TRUSTED_PROXY_HOPS says that many proxies each appended the
    address they saw to X-Forwarded-For; entries left of those are client-written, untrusted."""
    hops = request.app[SETTINGS].trusted_proxy_hops
    if hops:
        forwarded = [
            part.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for part in header.split(",")
        ]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops][:64]
    return request.remote or "unknown"


MAX_USER_AGENT = 256


def user_agent(request: web.Request) -> str | None:
    """The client's User-Agent, shortened, for the session list (it is the client's text)."""
    agent = request.headers.get("User-Agent", "").strip()
    return agent[:MAX_USER_AGENT] or None

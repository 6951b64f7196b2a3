"""Serves the Mini App: the page, its static files, a small public config, and the headers a
page needs (the API keeps its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from config import Settings
from server.http.jsonio import json_response
from server.keys import SETTINGS

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/app"

# No inline script or style, nothing from another origin; the API is same-origin. Only
# Telegram's web clients may frame the page (the mobile and desktop apps use a webview, which
# frame-ancestors does not concern).
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
        "frame-ancestors https://web.telegram.org",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",  # nothing of the page's URL leaves with a link
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "X-Content-Type-Options": "nosniff",
    # Revalidate every time: there is no build step to give the files versioned names.
    "Cache-Control": "no-cache",
}


def public_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to know before anyone signs in. The bot's numeric id is public (it
    is the part of the token before the colon, and every Login Widget page shows it); the rest
    of the token never leaves the server."""
    bot: dict[str, Any] | None = None
    if settings.telegram_bot_token is not None:
        head = settings.telegram_bot_token.get_secret_value().partition(":")[0]
        if head.isdigit():
            bot = {"id": int(head)}
    return {"bot": bot}


def _is_page_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


async def _page_headers(request: web.Request, response: web.StreamResponse) -> None:
    if _is_page_path(request.path):
        response.headers.update(PAGE_HEADERS)


def setup_miniapp(app: web.Application) -> None:
    """Add / (a redirect to the page), /app/ (the page), /app/static/* and /app/config.json
    to the app."""
    config = public_config(app[SETTINGS])

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def to_index(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(PREFIX + "/")

    async def config_json(request: web.Request) -> web.Response:
        return json_response(config)

    async def root(request: web.Request) -> web.Response:
        # The service's front door: a person who opens the bare address gets the app, not a
        # JSON 404. Temporary (302), so a later landing page can take `/` over.
        raise web.HTTPFound(PREFIX + "/")

    app.router.add_get("/", root)
    app.router.add_get(PREFIX, to_index)
    app.router.add_get(PREFIX + "/", index)
    app.router.add_get(PREFIX + "/config.json", config_json)
    app.router.add_static(PREFIX + "/static", STATIC_DIR, show_index=False, follow_symlinks=False)
    app.on_response_prepare.append(_page_headers)

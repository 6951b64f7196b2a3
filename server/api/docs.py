"""The API docs page: Swagger UI whose assets this app serves itself (no CDN, works offline).

The page runs no inline script (its start-up code is a file of its own), so it gets a strict
Content-Security-Policy: scripts, styles, the spec and images from this origin only. Swagger UI
sets `style` attributes as it renders, hence `'unsafe-inline'` for styles alone (no script can
come from that). No page may frame it (`frame-ancestors 'none'`, and X-Frame-Options for older
browsers): "Try it out" sends the user's token, so clicks must not be hijacked."""

from __future__ import annotations

import json
from pathlib import Path

import swagger_ui
from aiohttp import web

DOCS_PATH = "/api/docs"
ASSETS = Path(swagger_ui.__file__).parent / "static"  # Swagger UI 5, shipped by swagger-ui-py

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{docs}/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{docs}/static/swagger-ui-bundle.js"></script>
  <script src="{docs}/static/swagger-ui-standalone-preset.js"></script>
  <script src="{docs}/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({{
  url: {spec},
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
}});
"""


def add_docs(app: web.Application, spec_path: str, title: str) -> None:
    html = PAGE.format(title=title, docs=DOCS_PATH, spec=spec_path)
    init = INIT.format(spec=json.dumps(spec_path))

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html", headers=HEADERS)

    async def init_js(request: web.Request) -> web.Response:
        return web.Response(text=init, content_type="text/javascript", headers=HEADERS)

    app.router.add_get(DOCS_PATH, docs)
    app.router.add_get(f"{DOCS_PATH}/init.js", init_js)
    app.router.add_static(f"{DOCS_PATH}/static", ASSETS)

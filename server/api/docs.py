"""The API docs page: Swagger UI whose assets this app serves itself (no CDN, works offline)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from aiohttp import web

DOCS_PATH = "/api/docs"
ASSETS = Path(swagger_ui.__file__).parent / "static"  # Swagger UI 5, shipped by swagger-ui-py

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
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{spec}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    }});
  </script>
</body>
</html>
"""


def add_docs(app: web.Application, spec_path: str, title: str) -> None:
    html = PAGE.format(title=title, docs=DOCS_PATH, spec=spec_path)

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app.router.add_get(DOCS_PATH, docs)
    app.router.add_static(f"{DOCS_PATH}/static", ASSETS)

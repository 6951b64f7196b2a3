"""/app/ as served: the page, its files, its public config, and the headers a page needs,
while the API's own responses keep theirs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.miniapp.routes import STATIC_DIR
from tests.bot_helpers import BOT_TOKEN, bot_settings


def directives(csp: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in csp.split(";") if part.strip())
    return {name: values for name, *values in parts}


async def test_the_page_is_served_with_a_strict_csp(client):
    response = await client.get("/app/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "<main" in await response.text()
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]  # no unsafe-inline, no unsafe-eval, no other origin
    assert csp["default-src"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["https://web.telegram.org"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"


async def test_app_without_slash_redirects(client):
    response = await client.get("/app", allow_redirects=False)
    assert response.status == 308
    assert response.headers["Location"] == "/app/"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript"),
        ("api.js", "text/javascript"),
        ("app.css", "text/css"),
        ("icon.svg", "image/svg+xml"),
    ],
)
async def test_static_files_have_their_types_and_the_page_headers(client, name, content_type):
    response = await client.get(f"/app/static/{name}")
    assert response.status == 200
    # Module scripts must come with a JavaScript type (nosniff is strict about it).
    assert response.content_type in (content_type, "application/javascript")
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/app/static/",
        "/app/static/missing.js",
        "/app/static/../routes.py",
        "/app/static/%2e%2e/routes.py",
    ],
)
async def test_no_listing_and_no_way_out_of_the_folder(client, path):
    response = await client.get(path)
    assert response.status in (403, 404)
    assert "setup_miniapp" not in await response.text()


async def test_config_names_the_bot_by_id_only(make_client, fake_api):
    client = await make_client(**bot_settings(fake_api))
    response = await client.get("/app/config.json")
    assert response.status == 200
    body = await response.json()
    assert body == {"bot": {"id": int(BOT_TOKEN.split(":")[0])}}
    assert BOT_TOKEN.split(":")[1] not in await response.text()


async def test_config_without_a_bot(client):
    assert await (await client.get("/app/config.json")).json() == {"bot": None}


async def test_the_api_keeps_its_own_headers(client):
    for path in ("/health", "/api/auth/me", "/api/openapi.json"):
        response = await client.get(path)
        assert "Content-Security-Policy" not in response.headers, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_loads_no_inline_or_foreign_script():
    html = (STATIC_DIR / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "the page has its module"
    for attrs, body in scripts:
        assert body.strip() == "", "no inline script (the CSP would block it anyway)"
        src = re.search(r'src="([^"]+)"', attrs)
        assert src
        assert src.group(1).startswith("/app/static/")
    assert "style=" not in html
    assert "<style" not in html


def test_scripts_import_only_their_neighbours():
    for path in Path(STATIC_DIR).glob("*.js"):
        source = path.read_text()
        for target in re.findall(
            r"""^\s*(?:import|export)\b[^'"]*from\s+['"]([^'"]+)['"]""", source, re.M
        ):
            assert re.fullmatch(r"\./[a-z0-9]+\.js", target), (path.name, target)
            assert (STATIC_DIR / target[2:]).exists(), (path.name, target)
        # Text goes in as text nodes; no markup from strings, no persistent storage, no eval.
        assert not re.search(r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write", source)
        assert not re.search(r"\blocalStorage\.", source), path.name
        assert not re.search(r"\beval\(|new Function\(", source), path.name

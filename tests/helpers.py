"""Small helpers shared by the API tests: the calls every test makes, and what a problem
document must look like."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.conftest import TEST_JWT_SECRET

PASSWORD = "correct horse battery staple"
PROBLEM_TYPE = "application/problem+json"
REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
ME = "/api/auth/me"
COLLECTIONS = ("users", "refresh_sessions", "spent_refresh_tokens")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    resp = await client.post(REGISTER, json={"username": username, "password": password})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    resp = await client.post(LOGIN, json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def refresh(client: TestClient, refresh_token: str) -> ClientResponse:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def me(client: TestClient, access_token: str) -> ClientResponse:
    return await client.get(ME, headers=bearer(access_token))


async def assert_problem(resp: ClientResponse, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status; return its body."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == PROBLEM_TYPE, (resp.content_type, text)
    assert "Traceback" not in text
    body = json.loads(text)
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


async def assert_unauthorized(resp: ClientResponse) -> dict[str, Any]:
    body = await assert_problem(resp, 401)
    assert "Bearer" in resp.headers.get("WWW-Authenticate", ""), resp.headers
    return body


async def counts(db: Any) -> dict[str, int]:
    """How many documents each auth collection holds."""
    return {name: await db[name].count_documents({}) for name in COLLECTIONS}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_claims(sub: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a valid access token as the app issues them (see conftest's settings);
    an override of None removes that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "iat": now,
        "exp": now + 300,
        "iss": "assistant-backend",
        "aud": "assistant-api",
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def craft_token(
    sub: str, *, key: str = TEST_JWT_SECRET, algorithm: str = "HS256", **overrides: Any
) -> str:
    return jwt.encode(access_claims(sub, **overrides), key, algorithm=algorithm)

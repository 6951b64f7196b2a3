"""Every way a request body can be wrong: a 4xx problem document that names the field, no
traceback, no echo of the password, and nothing written to the database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import (
    LOGIN,
    LOGOUT,
    ME,
    REFRESH,
    REGISTER,
    assert_problem,
    bearer,
    counts,
    login,
    register,
)

SECRET = "Sup3r-secret-pässword"  # must never come back in an error response
JSON_TYPE = {"Content-Type": "application/json"}
TOO_LARGE = 64 * 1024 + 1


def creds(username: Any = "alice", password: Any = SECRET, **extra: Any) -> dict[str, Any]:
    return {"username": username, "password": password, **extra}


# id -> (keyword arguments of client.post, status, the field the errors must name)
REGISTER_CASES: dict[str, tuple[dict[str, Any], int, str | None]] = {
    "malformed-json": ({"data": b'{"username": "alice", ', "headers": JSON_TYPE}, 400, None),
    "empty-body": ({"data": b"", "headers": JSON_TYPE}, 400, None),
    "invalid-utf8": (
        {"data": b'{"username": "al\xffice", "password": "' + SECRET.encode() + b'"}',
         "headers": JSON_TYPE},
        400, None,
    ),
    "deeply-nested-json": ({"data": b"[" * 20000, "headers": JSON_TYPE}, 400, None),
    "json-array": ({"json": ["alice", SECRET]}, 422, "body"),
    "json-string": ({"json": "alice"}, 422, "body"),
    "json-number": ({"json": 42}, 422, "body"),
    "json-null": ({"data": b"null", "headers": JSON_TYPE}, 422, "body"),
    "text-plain": ({"data": f"alice {SECRET}", "headers": {"Content-Type": "text/plain"}},
                   415, None),
    "form-on-register": ({"data": creds()}, 415, None),
    "no-content-type": ({"data": b'{"username": "alice"}', "headers": {"Content-Type": ""}},
                        415, None),
    "missing-username": ({"json": {"password": SECRET}}, 422, "username"),
    "missing-password": ({"json": {"username": "alice"}}, 422, "password"),
    "extra-field": ({"json": creds(is_admin=True)}, 422, "is_admin"),
    "username-int": ({"json": creds(username=12345)}, 422, "username"),
    "password-int": ({"json": creds(password=12345678)}, 422, "password"),
    "username-null": ({"json": creds(username=None)}, 422, "username"),
    "username-2-chars": ({"json": creds(username="al")}, 422, "username"),
    "username-65-chars": ({"json": creds(username="a" * 65)}, 422, "username"),
    "username-space": ({"json": creds(username="al ice")}, 422, "username"),
    "username-cyrillic": ({"json": creds(username="алиса")}, 422, "username"),
    "username-slash": ({"json": creds(username="a/b")}, 422, "username"),
    "username-nul": ({"json": creds(username="ali\x00ce")}, 422, "username"),
    "password-7-chars": ({"json": creds(password="Secret7")}, 422, "password"),
    "password-129-chars": ({"json": creds(password="S" * 129)}, 422, "password"),
    "body-over-64-kib": ({"json": creds(pad="x" * TOO_LARGE)}, 413, None),
}  # fmt: skip


def sent_passwords(kwargs: dict[str, Any]) -> list[str]:
    body = kwargs.get("json", kwargs.get("data"))
    found = [SECRET] if SECRET in str(body) else []
    if isinstance(body, dict) and isinstance(body.get("password"), str):
        found.append(body["password"])
    return found


@pytest.mark.parametrize(
    ("kwargs", "status", "field"), REGISTER_CASES.values(), ids=REGISTER_CASES.keys()
)
async def test_invalid_registration_is_a_problem_and_writes_nothing(
    client, db, kwargs, status, field
):
    before = await counts(db)

    resp = await client.post(REGISTER, **kwargs)

    body = await assert_problem(resp, status)
    text = await resp.text()
    for password in sent_passwords(kwargs):
        assert password not in text
    if status == 422:
        assert isinstance(body["errors"], list)
        assert field in [error["field"] for error in body["errors"]], body["errors"]
        assert field in body["detail"]
    assert await counts(db) == before


async def test_unsupported_media_type_names_what_is_accepted(client):
    resp = await client.post(REGISTER, data="x", headers={"Content-Type": "text/plain"})

    await assert_problem(resp, 415)
    assert "application/json" in resp.headers["Accept-Post"]


# Each route that reads a body refuses the generic classes the same way, and writes nothing.
# id -> (body keyword arguments of client.post, Content-Type or None for the default, status)
GENERIC_CASES: dict[str, tuple[dict[str, Any], str | None, int]] = {
    "malformed-json": ({"data": b"{"}, "application/json", 400),
    "json-array": ({"json": []}, None, 422),
    "text-plain": ({"data": "x"}, "text/plain", 415),
    "extra-field": ({"json": {"refresh_token": "t", "username": "alice", "extra": 1}}, None, 422),
    "missing-fields": ({"json": {}}, None, 422),
    "body-over-64-kib": ({"json": {"refresh_token": "x" * TOO_LARGE}}, None, 413),
}


@pytest.mark.parametrize("path", [LOGIN, REFRESH, LOGOUT])
@pytest.mark.parametrize(
    ("body", "content_type", "status"), GENERIC_CASES.values(), ids=GENERIC_CASES.keys()
)
async def test_invalid_body_on_other_routes_is_a_problem_and_writes_nothing(
    client, db, path, body, content_type, status
):
    headers = bearer((await register(client, "alice"))["access_token"])
    if content_type:
        headers["Content-Type"] = content_type
    before = await counts(db)

    resp = await client.post(path, headers=headers, **body)

    await assert_problem(resp, status)
    assert await counts(db) == before


LOGIN_FORM_CASES: dict[str, tuple[dict[str, str] | list[tuple[str, str]], str]] = {
    "missing-password": ({"username": "alice"}, "password"),
    "extra-field": ({"username": "alice", "password": SECRET, "role": "admin"}, "role"),
    "bad-grant-type": ({"username": "alice", "password": SECRET, "grant_type": "x"},
                       "grant_type"),
    "repeated-field": ([("username", "alice"), ("password", SECRET), ("password", "other")],
                       "password"),
}  # fmt: skip


@pytest.mark.parametrize(("form", "field"), LOGIN_FORM_CASES.values(), ids=LOGIN_FORM_CASES.keys())
async def test_invalid_login_form_is_a_422_naming_the_field(client, db, form, field):
    await register(client, "alice", SECRET)
    before = await counts(db)

    resp = await client.post(LOGIN, data=form)

    body = await assert_problem(resp, 422)
    assert field in [error["field"] for error in body["errors"]], body
    assert SECRET not in await resp.text()
    assert await counts(db) == before


async def test_oversized_login_form_is_a_413_problem(client, db):
    await register(client, "alice")
    before = await counts(db)

    resp = await client.post(LOGIN, data={"username": "alice", "password": "x" * TOO_LARGE})

    await assert_problem(resp, 413)
    assert await counts(db) == before


@pytest.mark.parametrize(
    "password",
    ["p" * 8, "p" * 128, "я" * 128, "пароль-пароль", "🔐🔑🎉🚀✨🌟💫🔥"],
    ids=["8-chars", "128-chars", "128-cyrillic", "cyrillic", "8-emoji"],
)
async def test_boundary_and_unicode_passwords_are_accepted_and_log_in(client, password):
    await register(client, "alice", password)

    await login(client, "alice", password)


async def test_password_whitespace_is_significant(client):
    await register(client, "alice", "  spaced out  ")

    await login(client, "alice", "  spaced out  ")
    resp = await client.post(LOGIN, json={"username": "alice", "password": "spaced out"})
    await assert_problem(resp, 401)


@pytest.mark.parametrize("username", ["abc", "a" * 64, "Al.ice_-9"])
async def test_boundary_usernames_are_accepted(client, username):
    body = await register(client, username)

    assert body["user"]["username"] == username
    await login(client, username)


async def test_json_with_charset_parameter_is_accepted(client):
    resp = await client.post(
        REGISTER,
        data=b'{"username": "alice", "password": "' + SECRET.encode() + b'"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert resp.status == 201, await resp.text()


async def test_unknown_route_is_a_404_problem(client):
    await assert_problem(await client.get("/api/nope"), 404)
    await assert_problem(await client.post("/api/auth/nope", json={}), 404)


async def test_wrong_method_is_a_405_problem_with_allow(client):
    resp = await client.get(REGISTER)

    await assert_problem(resp, 405)
    assert "POST" in resp.headers["Allow"]


async def test_wrong_method_on_protected_route_is_a_405_problem(client):
    resp = await client.post(ME, json={})

    await assert_problem(resp, 405)
    assert "GET" in resp.headers["Allow"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"username=alice&password=\xff\xfe", "application/x-www-form-urlencoded", 400),
        ("username=alice&password=x".encode("utf-16"), "application/x-www-form-urlencoded", 400),
        # The charset parameter is ignored: forms are UTF-8, so this is a plain wrong login.
        (b"username=alice&password=x", "application/x-www-form-urlencoded; charset=bogus", 401),
    ],
)
async def test_login_form_in_a_bad_encoding_is_a_clear_problem(client, body, content_type, status):
    resp = await client.post(LOGIN, data=body, headers={"Content-Type": content_type})
    await assert_problem(resp, status)

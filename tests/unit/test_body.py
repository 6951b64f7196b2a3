"""Reading request bodies into models: JSON, the OAuth2 form, charsets, repeated fields, and
a clear 4xx problem for every way a body can be wrong. Requests are built in memory."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from server.api.body import read_json, read_json_or_form
from server.http.problems import Problem
from tests.unit.requests import request


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=64)
    secret: str


class PairForm(Pair):
    model_config = ConfigDict(extra="forbid", strict=False)
    note: str | None = None


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


async def json_body(body: bytes, content_type: str = JSON) -> Pair:
    return await read_json(request(headers={"Content-Type": content_type}, body=body), Pair)


async def either(body: bytes, content_type: str) -> Pair:
    req = request(headers={"Content-Type": content_type}, body=body)
    return await read_json_or_form(req, Pair, PairForm)


async def problem(body: bytes, content_type: str = JSON, form: bool = False) -> Problem:
    with pytest.raises(Problem) as caught:
        await (either(body, content_type) if form else json_body(body, content_type))
    return caught.value


# --- JSON -----------------------------------------------------------------------------------


async def test_json_becomes_the_model() -> None:
    parsed = await json_body(b'{"name": "alice", "secret": "s3"}')

    assert parsed == Pair(name="alice", secret="s3")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json;"]
)
async def test_json_content_type_parameters_and_case_do_not_matter(content_type: str) -> None:
    parsed = await json_body('{"name": "ж", "secret": ""}'.encode(), content_type)

    assert parsed.name == "ж"


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b'{"name": "a"', b"\xff\xfe{}", '{"name": "é"}'.encode("utf-16")]
)
async def test_a_body_that_is_not_json_is_400(body: bytes) -> None:
    found = await problem(body)

    assert (found.status, found.slug) == (400, "malformed-json")
    assert found.detail == "The body is not valid JSON"


@pytest.mark.parametrize("content_type", ["text/plain", FORM, "multipart/form-data", ""])
async def test_a_json_route_refuses_other_types_with_415(content_type: str) -> None:
    found = await problem(b'{"name": "a", "secret": "b"}', content_type)

    assert (found.status, found.slug) == (415, "unsupported-media-type")
    assert found.headers == {"Accept-Post": JSON}
    assert found.detail == "Content-Type must be application/json"


async def test_a_json_or_form_route_names_both_types() -> None:
    found = await problem(b"x", "text/plain", form=True)

    assert found.status == 415
    assert found.headers == {"Accept-Post": f"{JSON}, {FORM}"}
    assert found.detail == f"Content-Type must be {JSON} or {FORM}"


async def test_json_validation_errors_are_one_per_field() -> None:
    found = await problem(b'{"name": "", "secret": 5, "extra": 1}')

    assert (found.status, found.slug) == (422, "validation-error")
    assert found.detail == "Invalid fields: name, secret, extra"
    assert found.errors is not None
    assert [(e["field"], e["type"]) for e in found.errors] == [
        ("name", "string_too_short"),
        ("secret", "string_type"),
        ("extra", "extra_forbidden"),
    ]
    assert all(set(e) == {"field", "message", "type"} for e in found.errors)


async def test_a_body_that_is_not_an_object_is_a_body_error() -> None:
    found = await problem(b"[1, 2]")

    assert found.status == 422
    assert found.errors == [
        {"field": "body", "message": "Input should be an object", "type": "model_type"}
    ]


async def test_errors_never_echo_the_input() -> None:
    found = await problem(b'{"name": "' + b"n" * 70 + b'", "secret": ["hunter2-password"]}')

    assert "hunter2" not in json.dumps(found.body())
    assert "nnnnnnnnnn" not in json.dumps(found.body())


async def test_an_unknown_field_name_is_capped() -> None:
    found = await problem(json.dumps({"name": "a", "secret": "b", "k" * 100: 1}).encode())

    assert found.errors is not None
    assert found.errors[0]["field"] == "k" * 64
    assert found.detail == "Invalid fields: " + "k" * 64


async def test_json_is_strict_about_types() -> None:
    found = await problem(b'{"name": "a", "secret": 123}')

    assert found.errors is not None
    assert found.errors[0]["field"] == "secret"


# --- the form -------------------------------------------------------------------------------


async def test_a_form_becomes_the_form_model() -> None:
    parsed = await either(b"name=alice&secret=correct+horse&note=", FORM)

    assert parsed == PairForm(name="alice", secret="correct horse", note="")


async def test_json_on_a_json_or_form_route_uses_the_json_model() -> None:
    parsed = await either(b'{"name": "alice", "secret": "s"}', JSON)

    assert type(parsed) is Pair


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "latin-1", "no-such-charset"])
async def test_a_form_is_read_as_utf8_whatever_charset_it_declares(charset: str) -> None:
    body = urlencode({"name": "жора", "secret": "ü"}).encode()

    parsed = await either(body, f"{FORM}; charset={charset}")

    assert (parsed.name, parsed.secret) == ("жора", "ü")


@pytest.mark.parametrize("body", [b"name=\xff&secret=x", "name=é".encode("latin-1")])
async def test_a_form_that_is_not_utf8_is_400(body: bytes) -> None:
    found = await problem(body, FORM, form=True)

    assert (found.status, found.slug) == (400, "malformed-form")


class WideForm(PairForm):
    """A form with room for five fields, so repeated ones are not too many."""

    color: str | None = None
    size: str | None = None


async def test_a_repeated_form_field_is_422_naming_each_field_once() -> None:
    req = request(headers={"Content-Type": FORM}, body=b"secret=a&name=x&secret=b&name=y&name=z")

    with pytest.raises(Problem) as caught:
        await read_json_or_form(req, Pair, WideForm)

    found = caught.value

    assert (found.status, found.slug) == (422, "validation-error")
    assert found.detail == "Each form field may appear once"
    assert found.errors == [
        {"field": "name", "message": "Field repeated", "type": "repeated"},
        {"field": "secret", "message": "Field repeated", "type": "repeated"},
    ]


async def test_a_repeated_field_within_the_limit_is_named() -> None:
    found = await problem(b"secret=a&name=x&secret=b", FORM, form=True)

    assert (found.status, found.detail) == (422, "Each form field may appear once")
    assert found.errors == [{"field": "secret", "message": "Field repeated", "type": "repeated"}]


TOO_MANY = {
    "field": "body", "message": "At most 3 fields", "type": "too_many_fields"
}  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [b"name=a&secret=b&note=c&x=d", b"secret=a&name=x&secret=b&name=y", b"a=1&" * 3 + b"a=1",
     b"&" * 30_000, b"name=a&secret=b&note=c&"],
    ids=["four-distinct", "four-repeated", "four-same", "empty-fields", "trailing-separator"],
)  # fmt: skip
async def test_a_form_with_more_fields_than_its_schema_is_422_naming_the_body(body: bytes) -> None:
    # Counted before the body is split: a form never needs more fields than its schema has.
    found = await problem(body, FORM, form=True)

    assert (found.status, found.slug) == (422, "validation-error")
    assert found.detail == "The form has more than 3 fields"
    assert found.errors == [TOO_MANY]


async def test_a_form_with_as_many_fields_as_its_schema_is_read() -> None:
    parsed = await either(b"name=a&secret=b&note=c", FORM)

    assert parsed == PairForm(name="a", secret="b", note="c")


async def test_a_repeated_long_field_name_is_capped() -> None:
    found = await problem(b"k" * 100 + b"=1&" + b"k" * 100 + b"=2", FORM, form=True)

    assert found.errors == [{"field": "k" * 64, "message": "Field repeated", "type": "repeated"}]


async def test_form_validation_errors_name_the_fields() -> None:
    found = await problem(b"name=&secret=s&admin=1", FORM, form=True)

    assert found.status == 422
    assert found.errors is not None
    assert [e["field"] for e in found.errors] == ["name", "admin"]


async def test_a_field_without_value_is_an_empty_string() -> None:
    parsed = await either(b"name=a&secret=", FORM)

    assert parsed.secret == ""


async def outcome_of(parsing: Awaitable[Pair]) -> Pair | Problem:
    """The model, or the Problem raised; any other exception fails the test."""
    try:
        return await parsing
    except Problem as problem:
        return problem


# --- properties -----------------------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=50)
names = texts.filter(lambda s: 1 <= len(s) <= 64)


@settings(max_examples=200, deadline=None)
@given(name=names, secret=texts)
async def test_any_json_strings_round_trip(name: str, secret: str) -> None:
    body = json.dumps({"name": name, "secret": secret}).encode()

    assert await json_body(body) == Pair(name=name, secret=secret)


@settings(max_examples=200, deadline=None)
@given(name=names, secret=texts, note=st.none() | texts)
async def test_any_form_values_round_trip(name: str, secret: str, note: str | None) -> None:
    fields = {"name": name, "secret": secret, **({} if note is None else {"note": note})}

    parsed = await either(urlencode(fields).encode(), FORM)

    assert parsed.model_dump(exclude_none=True) == fields


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["name", "secret", "note"]), texts), max_size=6))
async def test_a_form_with_a_repeated_name_is_always_refused(pairs: list[tuple[str, str]]) -> None:
    body = urlencode(pairs).encode()
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if not repeated:
        return
    found = await problem(body, FORM, form=True)
    if len(pairs) > len(PairForm.model_fields):  # more than the schema's fields: the body
        assert found.errors == [TOO_MANY]
    else:
        assert found.errors is not None
        assert [e["field"] for e in found.errors] == repeated


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200), form=st.booleans())
async def test_arbitrary_bytes_give_a_model_or_a_4xx_problem(body: bytes, form: bool) -> None:
    outcome = await outcome_of(either(body, FORM) if form else json_body(body))

    if isinstance(outcome, Problem):
        assert outcome.status in (400, 422)
        json.dumps(outcome.body())  # always serialisable


@settings(max_examples=200, deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
))  # fmt: skip
async def test_any_json_document_gives_a_model_or_a_422(value: Any) -> None:
    outcome = await outcome_of(json_body(json.dumps(value).encode()))

    if isinstance(outcome, Problem):
        assert outcome.status == 422
        assert outcome.errors

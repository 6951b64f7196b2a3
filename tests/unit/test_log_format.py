"""The two log formats share one path for a message (secrets masked, control characters
escaped) and carry the request and update ids; request ids from outside are accepted only
when safe to log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from server.observability.log_format import escape_controls, make_handler
from server.observability.redaction import install_redaction
from server.observability.request_context import accept_request_id, bind_update_id, bound_request_id

SECRET = "log-format-test-secret-0123456789"


@pytest.fixture
def capture() -> Iterator[dict[str, io.StringIO]]:
    """A plain and a JSON handler on one test logger; yields their streams by format."""
    install_redaction([SECRET])
    logger = logging.getLogger("tests.log_format")
    logger.setLevel(logging.DEBUG)
    streams = {"plain": io.StringIO(), "json": io.StringIO()}
    handlers = [make_handler(name, stream) for name, stream in streams.items()]
    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield streams
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        bind_update_id(None)


def test_controls_are_escaped() -> None:
    assert escape_controls("a\nb\rc\x1b[31md\x00e\x7f\x85f\u2028g\th") == (
        "a\\nb\\rc\\x1b[31md\\x00e\\x7f\\x85f\\u2028g\\th"
    )


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_a_forged_line_stays_inside_its_record(capture, log_format) -> None:
    logging.getLogger("tests.log_format").info("path %s", "/x\n2030-01-01 INFO forged: hi")

    [line] = capture[log_format].getvalue().splitlines()
    text = json.loads(line)["message"] if log_format == "json" else line
    assert "/x\\n2030-01-01 INFO forged: hi" in text


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_secrets_are_masked_in_the_message_and_the_traceback(capture, log_format) -> None:
    logger = logging.getLogger("tests.log_format")
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        logger.exception("while using %s", SECRET)

    output = capture[log_format].getvalue()
    assert SECRET not in output
    assert "[REDACTED]" in output
    if log_format == "json":
        record = json.loads(output)
        assert record["message"] == "while using [REDACTED]"
        assert "RuntimeError: failed with [REDACTED]" in record["exc_info"]


def test_both_formats_carry_the_request_and_update_ids(capture) -> None:
    logger = logging.getLogger("tests.log_format")
    with bound_request_id("req-42"):
        bind_update_id(7)
        logger.warning("inside")
        bind_update_id(None)
    logger.warning("outside")

    inside, outside = capture["plain"].getvalue().splitlines()
    assert " WARNING tests.log_format [request_id=req-42 update_id=7]: inside" in inside
    assert " WARNING tests.log_format: outside" in outside
    first, second = map(json.loads, capture["json"].getvalue().splitlines())
    assert first["request_id"] == "req-42"
    assert first["update_id"] == 7
    assert first["level"] == "WARNING"
    assert first["logger"] == "tests.log_format"
    assert first["message"] == "inside"
    assert first["time"].startswith("20")
    assert "request_id" not in second
    assert "update_id" not in second


def test_json_keeps_our_extra_fields_only(capture) -> None:
    logging.getLogger("tests.log_format").info(
        "x", extra={"http": {"status": 200}, "password": "hunter2-abcdef"}
    )

    record = json.loads(capture["json"].getvalue())
    assert record["http"] == {"status": 200}
    assert "password" not in record


@pytest.mark.parametrize(
    "presented",
    [
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "abc.DEF_1:2+3/4=",
        "x" * 200,
    ],
)
def test_a_safe_request_id_is_kept(presented) -> None:
    assert accept_request_id(presented) == presented


@pytest.mark.parametrize(
    "presented", [None, "", "x" * 201, "a b", 'a"b', "a\nb", "a;b", "идентификатор"]
)
def test_an_unsafe_or_missing_request_id_is_replaced(presented) -> None:
    made = accept_request_id(presented)

    assert made != presented
    assert len(made) == 32
    int(made, 16)
    assert accept_request_id(presented) != made  # a new one every time

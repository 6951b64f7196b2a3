"""Secrets masked in every log record, whoever logs it. The record factory is process-wide;
each test restores the set of secrets it found."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from server.observability import redaction
from server.observability.redaction import MASK, QUIETED, harden_logging, install_redaction, redact

SECRET = "s3cr3t-value-0123456789"
OTHER = "another-secret-abcdefgh"


@pytest.fixture(autouse=True)
def fresh_redaction(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in a new process: nothing installed, no secrets. The app's factory and secrets
    (installed by other tests in this process) come back afterwards."""
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # logging's own, unwrapped
    monkeypatch.setattr(redaction, "_installed", False)
    monkeypatch.setattr(redaction, "_secrets", set())
    yield
    logging.setLogRecordFactory(factory)


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="unit.redaction")
    return caplog


def test_redact_masks_every_occurrence_of_every_secret() -> None:
    install_redaction([SECRET, OTHER])

    assert redact(f"a {SECRET} b {OTHER} c {SECRET}") == f"a {MASK} b {MASK} c {MASK}"


def test_redact_leaves_other_text_alone() -> None:
    install_redaction([SECRET])

    assert redact("nothing to see") == "nothing to see"
    assert redact(SECRET[:-1]) == SECRET[:-1]


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI2NjUwIn0.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"token {JWT} seen", f"token {MASK} seen"),
        ("Authorization: Bearer abcdefghij0123456789", f"Authorization: Bearer {MASK}"),
        ("GET /botTOKEN Bot 123456:ABCDEFGHIJKLMNOP", f"GET /botTOKEN Bot {MASK}"),
        ("tma query_id=AAHdF6IQAAAAAN0", f"tma {MASK}"),
        ("Bearer  abcdefghij0123456789'", f"Bearer {MASK}'"),
        ("Bearer short-123", "Bearer short-123"),  # too short to be a credential
        ("Bearerabcdefghij0123456789", "Bearerabcdefghij0123456789"),  # not a scheme
        ("aBot abcdefghij0123456789", "aBot abcdefghij0123456789"),  # not a word
    ],
)
def test_credential_shaped_text_is_masked_without_configuring_it(text: str, masked: str) -> None:
    # No secrets configured: a credential after a scheme, or a JWT, is masked by its shape.
    assert redact(text) == masked


def test_short_strings_are_not_treated_as_secrets() -> None:
    install_redaction(["1234567", "", "12345678"])

    assert "1234567" not in redaction._secrets
    assert "" not in redaction._secrets
    assert redact("pin 1234567, code 12345678") == f"pin 1234567, code {MASK}"


def test_installing_again_adds_secrets_and_one_factory(log: pytest.LogCaptureFixture) -> None:
    install_redaction([SECRET])
    factory = logging.getLogRecordFactory()
    install_redaction([OTHER])

    assert logging.getLogRecordFactory() is factory
    logging.getLogger("unit.redaction").info("%s and %s", SECRET, OTHER)
    assert log.records[-1].getMessage() == f"{MASK} and {MASK}"


def test_the_factory_wraps_the_one_it_found() -> None:
    made: list[logging.LogRecord] = []
    previous = logging.getLogRecordFactory()

    def marking(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        made.append(record)
        return record

    logging.setLogRecordFactory(marking)
    install_redaction([SECRET])

    record = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, SECRET, None, None)

    assert made == [record]
    assert record.getMessage() == MASK


def test_the_factory_passes_keyword_arguments_on() -> None:
    install_redaction([SECRET])

    record = logging.getLogRecordFactory()(
        "x", logging.INFO, __file__, 1, "m", None, None, func="caller", sinfo="stack"
    )

    # The stack comes back as a cleaned block, indented (test_a_stack_is_a_cleaned_block).
    assert (record.funcName, record.stack_info) == ("caller", "  stack")


def test_a_stack_is_a_cleaned_block() -> None:
    install_redaction([SECRET])
    stack = f"Stack (most recent call last):\n  at {SECRET}\x1b[31m\nforged: line"

    record = logging.getLogRecordFactory()(
        "x", logging.INFO, __file__, 1, "m", None, None, sinfo=stack
    )

    # Masked, controls escaped but the line breaks kept, and no line at the margin.
    assert record.stack_info == (
        f"  Stack (most recent call last):\n    at {MASK}\\x1b[31m\n  forged: line"
    )


def test_a_traceback_is_formatted_now_as_a_cleaned_block() -> None:
    install_redaction([SECRET])
    try:
        raise ValueError(f"bad {SECRET}\x07\nforged: line")
    except ValueError:
        exc_info = sys.exc_info()

    record = logging.getLogRecordFactory()("x", logging.ERROR, __file__, 1, "m", None, exc_info)

    assert record.exc_text is not None
    lines = record.exc_text.split("\n")
    assert lines[0] == "  Traceback (most recent call last):"
    assert lines[-2:] == [f"  ValueError: bad {MASK}\\x07", "  forged: line"]
    assert all(line.startswith("  ") for line in lines)


def test_a_record_without_an_exception_gets_no_traceback_text() -> None:
    install_redaction([SECRET])

    record = logging.getLogRecordFactory()(
        "x", logging.ERROR, __file__, 1, "m", None, (None, None, None)
    )

    assert record.exc_text is None


def test_a_secret_in_the_arguments_is_masked_and_the_args_dropped(
    log: pytest.LogCaptureFixture,
) -> None:
    install_redaction([SECRET])

    logging.getLogger("unit.redaction").warning("token=%s user=%d", SECRET, 7)

    record = log.records[-1]
    assert record.getMessage() == f"token={MASK} user=7"
    assert record.args is None  # a handler formatting again cannot bring the secret back


def test_a_secret_in_the_format_string_is_masked(log: pytest.LogCaptureFixture) -> None:
    install_redaction([SECRET])

    logging.getLogger("unit.redaction").error(f"url https://x/bot{SECRET}/getMe")

    assert log.records[-1].getMessage() == f"url https://x/bot{MASK}/getMe"


def test_a_clean_record_keeps_its_arguments(log: pytest.LogCaptureFixture) -> None:
    install_redaction([SECRET])

    logging.getLogger("unit.redaction").info("user %s", "alice")

    assert log.records[-1].args == ("alice",)
    assert log.records[-1].msg == "user %s"


def test_a_broken_format_string_is_left_to_logging(log: pytest.LogCaptureFixture) -> None:
    install_redaction([SECRET])
    factory = logging.getLogRecordFactory()

    record = factory("unit.redaction", logging.INFO, __file__, 1, "%d", ("x",), None)

    assert record.msg == "%d"
    assert record.args == ("x",)


def test_without_secrets_records_are_not_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    install_redaction([])
    monkeypatch.setattr(redaction, "_secrets", set())
    factory = logging.getLogRecordFactory()

    record = factory("unit.redaction", logging.INFO, __file__, 1, "a %s", ("b",), None)

    assert (record.msg, record.args) == ("a %s", ("b",))


def test_harden_logging_also_quiets_the_chatty_loggers() -> None:
    saved = {name: logging.getLogger(name).level for name in QUIETED}
    try:
        for name in QUIETED:
            logging.getLogger(name).setLevel(logging.DEBUG)

        harden_logging([SECRET])

        assert SECRET in redaction._secrets
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
        assert logging.getLogger("pymongo.command").level == logging.INFO
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)

"""The task page's fast path (a dict per task, dumped by orjson) must produce exactly what the
TaskOut model produces, for tasks as they come back from MongoDB (PyMongo's tz-aware
datetimes carry bson's own UTC tzinfo)."""

from __future__ import annotations

from datetime import UTC, datetime

import bson
import orjson
import pytest
from bson import ObjectId
from bson.codec_options import CodecOptions

from server.api.task_schemas import TaskOut
from server.services.tasks.views import TaskView

TIMES = [
    datetime(2030, 5, 1, 9, 0, 0, 123000, tzinfo=UTC),
    datetime(2030, 5, 1, 9, 0, 0, tzinfo=UTC),  # no fraction
    datetime(1900, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    datetime(9998, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
]


def stored(**fields: object) -> dict[str, object]:
    """A task document after a round trip through BSON, as PyMongo returns it."""
    doc = {
        "_id": ObjectId(), "user_id": "a" * 24, "list_id": "b" * 24, "title": "Купить молоко",
        "notes": "line 1\nline 2 \"quoted\" \\ \t", "done": False, "done_at": None, "due": None,
        "remind_at": None, "repeat": None, "created_at": TIMES[0], "updated_at": TIMES[1],
        "order_key": "0000000000001" + "c" * 24, "terms": ["x"], "version": 3,
    } | fields  # fmt: skip
    return bson.decode(bson.encode(doc), codec_options=CodecOptions(tz_aware=True))


@pytest.mark.parametrize("when", TIMES)
def test_a_row_dumps_exactly_as_the_model(when: datetime) -> None:
    view = TaskView.of(
        stored(done=True, done_at=when, due=when, remind_at=when, repeat="FREQ=DAILY")
    )
    fast = orjson.dumps(TaskOut.row(view), option=orjson.OPT_UTC_Z)
    assert fast == TaskOut.of(view).model_dump_json().encode()


def test_missing_optional_fields_read_as_the_models_defaults() -> None:
    doc = stored()
    for name in ("notes", "done", "done_at", "due", "remind_at", "repeat", "order_key"):
        del doc[name]
    view = TaskView.of(doc)
    assert (view.notes, view.done, view.due, view.repeat, view.order_key) == ("", False, None,
                                                                              None, "")  # fmt: skip


def test_a_boolean_stored_as_1_reads_as_true() -> None:
    assert TaskView.of(stored(done=1)).done is True

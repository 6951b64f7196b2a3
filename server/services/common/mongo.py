"""Query shapes that behave the same on MongoDB and on the embedded nx-27017."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from beanie import Document, PydanticObjectId
from beanie.odm.utils.dump import get_dict
from bson import ObjectId

D = TypeVar("D", bound=Document)


def eq(fields: Mapping[str, Any] | None = None, /, **named: Any) -> dict[str, Any]:
    """Equality on each field, written `{"f": {"$eq": v}}`: the one way every query here says
    "field equals value". On MongoDB it means exactly `{"f": v}`. On the embedded nx-27017 a
    plain `{"f": v}` is translated into `json_extract(data, '$.f') = ? OR EXISTS (SELECT …
    json_each(…))` (MongoDB's "a scalar also matches inside an array"), and that OR keeps
    SQLite from using any index: every such query scans the whole collection. `$eq` is
    translated into a plain `json_extract(data, '$.f') = ?`, which the compound index serves,
    ranges and sort included (tests/integration/test_query_plans.py reads the plans).
    Dotted paths go in the mapping: `eq({"message.chat.id": 5}, done=False)`."""
    pairs = {**(fields or {}), **named}
    return {field: {"$eq": value} for field, value in pairs.items()}


def same_id(value: ObjectId) -> dict[str, Any]:
    """Match a field holding this ObjectId. nx-27017 never matches `{"field": <ObjectId>}` on
    a field other than `_id` (measured: find, update and delete all miss), but does match
    `{"$in": [<ObjectId>]}`; MongoDB matches both. (`count_documents` misses either way on
    nx-27017: count with `find`.)"""
    return {"$in": [value]}


async def insert(document: Document) -> None:
    """beanie's `insert` without its layers (measured: ~150 us of CPU less each, on the
    login's session and /start's user): the models here have no event actions, revisions,
    state management or validate-on-save, so beanie's insert is exactly this insert_one of
    the same dict (`get_dict`), with the id made here. DuplicateKeyError propagates alike."""
    if document.id is None:
        document.id = PydanticObjectId()
    settings = document.get_settings()
    assert not settings.use_revision, type(document)
    assert not settings.use_state_management, type(document)
    await (
        type(document)
        .get_pymongo_collection()
        .insert_one(get_dict(document, to_db=True, keep_nulls=settings.keep_nulls))
    )


async def find_one(model: type[D], query: dict[str, Any]) -> D | None:
    """beanie's `find_one` without its query builder and parse layers (~150-200 us of CPU
    a lookup, as much as the round trip itself): PyMongo's find_one and the model."""
    doc = await model.get_pymongo_collection().find_one(query)
    return None if doc is None else model.model_validate(doc)


async def at_least(
    model: type[Document], query: dict[str, Any], n: int, index: list[tuple[str, int]]
) -> bool:
    """Whether at least `n` documents match `query`: the n-th one along `index` (the keys of
    an index the query's equalities lead), fetched alone. A quota check: measured on
    nx-27017 with 10,000 tasks of one user (2-core box, loaded), `count_documents` took
    4.1 s (it is not answered from the index there), this shape 155 ms, and 2 ms for a user
    with 100; on MongoDB both walk the index."""
    if n <= 0:
        return True
    cursor = model.get_pymongo_collection().find(query, {"_id": 1}).sort(index).skip(n - 1).limit(1)
    return [doc async for doc in cursor] != []

"""Query shapes that behave the same on MongoDB and on the embedded nx-27017."""

from __future__ import annotations

from typing import Any

from bson import ObjectId


def same_id(value: ObjectId) -> dict[str, Any]:
    """Match a field holding this ObjectId. nx-27017 never matches `{"field": <ObjectId>}` on
    a field other than `_id` (measured: find, update and delete all miss), but does match
    `{"$in": [<ObjectId>]}`; MongoDB matches both. (`count_documents` misses either way on
    nx-27017: count with `find`.)"""
    return {"$in": [value]}

"""Every hot query shape is served by an index on the embedded server: each shape below runs
through PyMongo against an nx-27017 holding the app's real collections and indexes, and
the test reads SQLite's plan of every statement the server executes for it. A full scan of
a collection table fails the test, with the SQL and the plan.

And no query lands without being looked at: every call of a query method in `server/` (found
by reading the source) must appear in SITES, either naming the hot shapes here that cover it
or saying why it may scan (a cold path: an account erase, an admin screen)."""

from __future__ import annotations

import ast
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from bson import ObjectId
from pymongo import AsyncMongoClient, ReturnDocument, UpdateOne

from models.reminder import PENDING
from server.db.connection import init_models
from server.services.common.mongo import eq
from server.services.reminders.claim_store import due_query
from server.services.tasks.search_backend import (
    bucket,
    chunk_key,
    directory_key,
    field,
    head_key,
    slot,
)
from tests.integration.embedded_plans import TracedServer

ROOT = Path(__file__).resolve().parents[2]
USERS = 300
U = f"{0:024x}"  # the user whose queries are run (one of USERS)
NOW = 1_800_000_000_000
Run = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class Cold:
    """A query site allowed to scan, and why."""

    why: str


async def _all(cursor: Any) -> list[Any]:
    return [doc async for doc in cursor]


# ---------------------------------------------------------------- the hot shapes
# Written as the services write them (the `eq` helper); a change of shape there needs the
# same change here, or the site's entry in SITES no longer says the truth.

HOT: dict[str, Run] = {
    # accounts
    "user by id": lambda db: db.users.find_one(eq(_id=ObjectId(U))),
    "user by name": lambda db: db.users.find_one(eq(username_normalized="user7")),
    "user by telegram id": lambda db: db.users.find_one(eq(telegram_id=1007), {"active": 1}),
    "user update by id": lambda db: db.users.update_one(
        {"_id": ObjectId(U)}, {"$set": {"tokens_valid_after": 1}}
    ),
    "session by token hash": lambda db: db.refresh_sessions.find_one(eq(token_hash="h7")),
    "session by family": lambda db: db.refresh_sessions.find_one(eq(family_id="f7")),
    "session refresh": lambda db: db.refresh_sessions.update_one(
        eq(_id=ObjectId(), token_hash="h7", revoked=False), {"$set": {"token_hash": "h7"}}
    ),
    "session revoke family": lambda db: db.refresh_sessions.update_many(
        eq(family_id="f7"), {"$set": {"revoked": True}}
    ),
    "session end one": lambda db: db.refresh_sessions.update_many(
        {**eq(family_id="f7"), "user_id": {"$in": [ObjectId(U)]}, "revoked": {"$in": [0]}},
        {"$set": {"revoked": True}},
    ),
    "sessions of a user by key": lambda db: _all(
        db.refresh_sessions.find(eq(user_key=U, revoked=False), {"family_id": 1, "_id": 0})
        .sort("last_used_ms", -1)
        .skip(20)
        .limit(1000)
    ),
    "sessions ended by the cap": lambda db: db.refresh_sessions.bulk_write(
        [
            UpdateOne(
                {**eq(family_id=f), "user_id": {"$in": [ObjectId(U)]}},
                {"$set": {"revoked": True}},
            )
            for f in ("f7", "f8")
        ],
        ordered=False,
    ),
    "spent token by hash": lambda db: db.spent_refresh_tokens.find_one(eq(token_hash="h7")),
    "code by id": lambda db: db.link_codes.find_one_and_update(
        {**eq(_id="c7", claimed_by=0), "expires_ms": {"$gt": NOW}},
        {"$set": {"claimed_by": 1}},
    ),
    "reset code by id": lambda db: db.reset_codes.find_one_and_update(
        {"_id": ObjectId(U), "attempts": {"$lt": 5}, "expires_ms": {"$gt": NOW}},
        {"$inc": {"attempts": 1}},
    ),
    # rate counters (upserted by _id) and the send gate
    "rate counter hit": lambda db: db.rate_counters.find_one_and_update(
        {"_id": "login:x:1", "expires_at": datetime(2030, 1, 1, tzinfo=UTC)},
        {"$inc": {"attempts": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    ),
    "rate counters by ids": lambda db: db.rate_counters.update_many(
        {"_id": {"$in": ["a", "b"]}}, {"$inc": {"attempts": -1}}
    ),
    "send gate": lambda db: db.send_gate.find_one({"_id": "telegram"}),
    # lists and tasks
    "lists of a user": lambda db: _all(db.task_lists.find(eq(user_id=U))),
    "built-in list": lambda db: db.task_lists.find_one(eq(user_id=U, key="inbox")),
    "list by id and user": lambda db: db.task_lists.find_one(eq(_id=ObjectId(), user_id=U)),
    "list by name": lambda db: db.task_lists.find_one(eq(user_id=U, name_normalized="work")),
    "task page": lambda db: _all(
        db.tasks.find({**eq(user_id=U, done=False), "order_key": {"$lt": "9"}})
        .sort("order_key", -1)
        .limit(51)
    ),
    "task page of a list": lambda db: _all(
        db.tasks.find(eq(user_id=U, list_id="L1", done=False)).sort("order_key", -1).limit(51)
    ),
    "task page, all states": lambda db: _all(
        db.tasks.find(eq(user_id=U, list_id="L1")).sort("order_key", -1).limit(51)
    ),
    "task window by offset": lambda db: _all(
        db.tasks.find(eq(user_id=U, list_id="L1", done=False))
        .sort("order_key", -1)
        .skip(20)
        .limit(10)
    ),
    "open counts": lambda db: _all(
        db.tasks.find(eq(user_id=U, done=False), {"list_id": 1, "_id": 0})
    ),
    "task by id and user": lambda db: db.tasks.find_one(eq(_id=ObjectId(), user_id=U)),
    "task write": lambda db: db.tasks.replace_one(
        eq(_id=ObjectId(), user_id=U, version=3), {"user_id": U}
    ),
    # A task at version 0 may be a document older than the field (services/tasks/service.py
    # `version_is`): `$in` with null, narrowed by `_id` first.
    "task write at version 0": lambda db: db.tasks.replace_one(
        {**eq(_id=ObjectId(), user_id=U), "version": {"$in": [0, None]}}, {"user_id": U}
    ),
    # DELETE with If-Match: guarded by the version it was based on.
    "task delete at a version": lambda db: db.tasks.delete_one(
        eq(_id=ObjectId(), user_id=U, version=3)
    ),
    "tasks of a list moved": lambda db: db.tasks.update_many(
        eq(user_id=U, list_id="L9"), {"$set": {"list_id": "L8"}}
    ),
    # search postings (tasks/search_backend.py): the head, the directory, the generations
    "search head": lambda db: db.search_postings.find_one({"_id": head_key(U)}, {"seq": 1}),
    "search postings": lambda db: _all(
        db.search_postings.find(
            {"_id": {"$in": [chunk_key(U, bucket(t), g) for t in ("мол", "a") for g in (1, 0)]}},
            {field("мол"): 1, field("a"): 1},
        )
    ),
    "search head numbered": lambda db: db.search_postings.find_one_and_update(
        {"_id": head_key(U)},
        {"$inc": {"seq": 1}, "$set": {"user_id": U}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    ),
    "search directory": lambda db: db.search_postings.find_one(
        {"_id": directory_key(U, "t1")}, {slot("t1"): 1}
    ),
    "search postings written": lambda db: db.search_postings.bulk_write(
        [
            UpdateOne(
                {"_id": directory_key(U, "t1")},
                {"$set": {slot("t1"): 0, "user_id": U}},
                upsert=True,
            ),
            UpdateOne(
                {"_id": chunk_key(U, bucket("мол"), 0)},
                {"$push": {field("мол"): {"$each": ["t"]}}, "$set": {"user_id": U}},
                upsert=True,
            ),
            UpdateOne(
                {"_id": chunk_key(U, bucket("a"), 0)}, {"$pull": {field("a"): {"$in": ["t"]}}}
            ),
            UpdateOne({"_id": directory_key(U, "t2")}, {"$unset": {slot("t2"): ""}}),
        ],
        ordered=False,
    ),
    "search postings of a user deleted": lambda db: db.search_postings.delete_many(
        {**eq(user_id=U), "_id": {"$ne": head_key(U)}}
    ),
    "search head deleted": lambda db: db.search_postings.delete_one({"_id": head_key(U)}),
    "search candidates": lambda db: _all(
        db.tasks.find({"_id": {"$in": [ObjectId(), ObjectId()]}, **eq(user_id=U, done=False)})
    ),
    # the webhook intake
    "update handled": lambda db: db.telegram_updates.update_one(
        {"_id": 5}, {"$set": {"handled": True}}
    ),
    "update claims renewed": lambda db: db.telegram_updates.update_many(
        {"_id": {"$in": [5, 6]}}, {"$set": {"claimed_at": 1.0}}
    ),
    "stale updates": lambda db: db.telegram_updates.find_one_and_update(
        {**eq(handled=False), "claimed_at": {"$lt": 100.0}}, {"$set": {"claimed_at": 1.0}}
    ),
    # reminders
    "due reminders": lambda db: _all(
        db.reminders.find(due_query(NOW), {"_id": 1}).sort("due_ms", 1).limit(100)
    ),
    "reminder claim": lambda db: db.reminders.find_one_and_update(
        {"_id": ObjectId(), **due_query(NOW)}, {"$set": {"claim": "t"}}
    ),
    "earliest due reminder": lambda db: _all(
        db.reminders.find({**eq(state=PENDING, paused=0), "due_ms": {"$gt": NOW}}, {"due_ms": 1})
        .sort("due_ms", 1)
        .limit(1)
    ),
    "reminder by id": lambda db: db.reminders.update_one(
        {"_id": ObjectId(), "claim": "t"}, {"$set": {"claim": None}}
    ),
    "reminders of a user": lambda db: db.reminders.update_many(
        eq(user_id=U), {"$set": {"paused": 0}}
    ),
    "blocked chat of a user": lambda db: db.reminder_chats.find_one(
        {**eq(user_id=U), "blocked_ms": {"$gt": 0}}, {"_id": 1}
    ),
    "chat turn": lambda db: db.reminder_chats.update_one(
        {"_id": 1007, "next_ms": {"$lte": NOW}}, {"$set": {"next_ms": NOW}}
    ),
    "bot question": lambda db: db.bot_questions.find_one(eq(_id=U)),
    "bot question answered": lambda db: db.bot_questions.delete_one(eq(_id=U, kind="time")),
    "bot question asked": lambda db: db.bot_questions.replace_one(
        eq(_id=U), {"kind": "zone", "expires_ms": NOW}, upsert=True
    ),
    "quiet hours": lambda db: db.reminder_prefs.find_one({"_id": U}),
    # sharing: the access check on every request to a shared list, the overview, invites
    "list by id": lambda db: db.task_lists.find_one(eq(_id=ObjectId(U))),
    # group chats
    "list of a group chat": lambda db: db.task_lists.find_one(eq(group_chat_id=-1007)),
    "group list left or back": lambda db: db.task_lists.update_one(
        eq(group_chat_id=-1007), {"$set": {"group_left": 1}}
    ),
    "group list migrated": lambda db: db.task_lists.update_one(
        eq(group_chat_id=-1007), {"$set": {"group_chat_id": -1_000_000_000_007}}
    ),
    "a task of a list": lambda db: db.tasks.find_one(eq(user_id=U, list_id="L1"), {"_id": 1}),
    "list deleted": lambda db: db.task_lists.delete_one(eq(_id=ObjectId(), user_id=U)),
    "members of a list deleted": lambda db: db.list_members.delete_many(eq(list_id="L9")),
    "task's list by task id": lambda db: db.tasks.find_one({"_id": ObjectId()}, {"list_id": 1}),
    "group of a list": lambda db: db.task_lists.find_one(
        eq(_id=ObjectId(U)), {"group_chat_id": 1, "group_left": 1}
    ),
    "list handed over": lambda db: db.task_lists.update_one(
        {"_id": ObjectId(U), **eq(user_id=U)}, {"$set": {"user_id": "x"}}
    ),
    "membership by id": lambda db: db.list_members.find_one(eq(_id=f"L1:{U}")),
    "membership changed": lambda db: db.list_members.find_one_and_update(
        eq(_id=f"L1:{U}"), {"$set": {"role": "viewer"}}
    ),
    "membership deleted": lambda db: db.list_members.delete_one(eq(_id=f"L1:{U}")),
    "memberships of a user": lambda db: _all(db.list_members.find(eq(user_id=U), {"list_id": 1})),
    "members of a list": lambda db: _all(
        db.list_members.find(eq(list_id="L1")).sort("joined_ms", 1).limit(50)
    ),
    "members of a list counted": lambda db: _all(
        db.list_members.find(eq(list_id="L1"), {"_id": 1})
    ),
    "members of an owner": lambda db: _all(db.list_members.find(eq(owner_id=U), {"list_id": 1})),
    "members of a list handed over": lambda db: db.list_members.update_many(
        eq(list_id="L1"), {"$set": {"owner_id": U}}
    ),
    # change notifications of shared lists (sharing/notices.py)
    "members of a list, their ids": lambda db: _all(
        db.list_members.find(eq(list_id="L1"), {"user_id": 1}).limit(21)
    ),
    "users opted in to change notices": lambda db: _all(
        db.users.find(
            {
                "_id": {"$in": [ObjectId(U), ObjectId(f"{7:024x}")]},
                "notify_changes": {"$in": [True, 1]},
            },
            {"_id": 1},
        )
    ),
    "change batch counted": lambda db: db.change_batches.update_one(
        {**eq(_id=f"{U}:L1:{U}"), "n_added": {"$gt": 0}},
        {"$inc": {"n_added": 1, "total": 1}, "$set": {"l_added": "x"}},
    ),
    "change batch's first of a kind": lambda db: db.change_batches.update_one(
        {**eq(_id=f"{U}:L1:{U}"), "n_done": {"$eq": 0}},
        {"$inc": {"n_done": 1, "total": 1}, "$set": {"t_done": "x", "l_done": "x"}},
    ),
    "change batch claim": lambda db: db.change_batches.find_one_and_update(
        {"due_ms": {"$lte": NOW}, "lease_ms": {"$lt": NOW}},
        {"$set": {"lease_ms": NOW + 30_000, "claim": "t"}, "$inc": {"attempts": 1}},
        sort=[("due_ms", 1)],
        return_document=ReturnDocument.AFTER,
    ),
    "earliest due change batch": lambda db: _all(
        db.change_batches.find({"due_ms": {"$gt": NOW}}, {"due_ms": 1}).sort("due_ms", 1).limit(1)
    ),
    "change batch as its claim holder": lambda db: db.change_batches.find_one(
        eq(_id=f"{U}:L1:{U}", claim="t")
    ),
    "change batch released": lambda db: db.change_batches.update_one(
        eq(_id=f"{U}:L1:{U}", claim="t"), {"$set": {"due_ms": NOW, "lease_ms": 0, "claim": None}}
    ),
    "change batch kept": lambda db: db.change_batches.update_one(
        eq(_id=f"{U}:L1:{U}", claim="t", total=3), {"$set": {"total": 1}}
    ),
    "change batch sent": lambda db: db.change_batches.delete_one(
        eq(_id=f"{U}:L1:{U}", claim="t", total=3)
    ),
    "chat by id": lambda db: db.reminder_chats.find_one(eq(_id=1007), {"blocked_ms": 1}),
    "invite by code": lambda db: db.list_invites.find_one(eq(_id="code7")),
    "invite accepted": lambda db: db.list_invites.find_one_and_delete(
        {**eq(_id="code7"), "expires_ms": {"$gt": NOW}}
    ),
    "invite revoked": lambda db: db.list_invites.delete_one(eq(_id="code7", list_id="L1")),
    "invites of a list": lambda db: _all(
        db.list_invites.find(eq(list_id="L1")).sort("created_ms", 1)
    ),
    "invites of a list handed over": lambda db: db.list_invites.update_many(
        eq(list_id="L1"), {"$set": {"owner_id": U}}
    ),
    "open tasks of a list counted": lambda db: _all(
        db.tasks.find(eq(user_id=U, list_id="L1", done=False), {"_id": 1})
    ),
    "tasks of a list held by a member": lambda db: _all(
        db.tasks.find(eq(user_id=U, list_id="L1", assignee_id="m"), {"terms": 0})
    ),
    "task by id": lambda db: db.tasks.find_one({"_id": ObjectId()}),
    # quotas (common/mongo.at_least: the n-th along the index, fetched alone)
    "tasks quota": lambda db: _all(
        db.tasks.find(eq(user_id=U), {"_id": 1})
        .sort([("user_id", 1), ("done", 1), ("order_key", -1)])
        .skip(2)
        .limit(1)
    ),
    "active reminders quota": lambda db: _all(
        db.tasks.find({**eq(user_id=U, done=False), "remind_at": {"$ne": None}}, {"_id": 1})
        .sort([("user_id", 1), ("done", 1), ("remind_at", 1)])
        .skip(2)
        .limit(1)
    ),
    # the tasks quota's kept count (tasks/service.py `_check_tasks_quota`)
    "task tally counted": lambda db: db.task_tallies.find_one_and_update(
        {"_id": U}, {"$inc": {"n": 1, "since": 1}}, return_document=ReturnDocument.AFTER
    ),
    "task tally set": lambda db: db.task_tallies.update_one(
        {"_id": U}, {"$set": {"n": 3, "since": 0}}, upsert=True
    ),
    "task tally changed": lambda db: db.task_tallies.update_one({"_id": U}, {"$inc": {"n": -1}}),
    "task tallies dropped": lambda db: db.task_tallies.delete_many({"_id": {"$in": [U, "x"]}}),
    "tasks of a user counted": lambda db: _all(
        db.tasks.find(eq(user_id=U), {"_id": 1}).limit(10_000)
    ),
    "lists quota": lambda db: _all(
        db.task_lists.find({**eq(user_id=U), "name_normalized": {"$gt": ""}}, {"_id": 1})
        .sort([("user_id", 1), ("name_normalized", 1)])
        .skip(2)
        .limit(1)
    ),
    # Today: three indexed queries (services/tasks/service.py `today`)
    "today by list": lambda db: _all(
        db.tasks.find(eq(user_id=U, done=False, list_id="L1")).sort("order_key", -1).limit(200)
    ),
    "today by reminder time": lambda db: _all(
        db.tasks.find({**eq(user_id=U, done=False), "remind_at": {"$lt": now_date()}})
        .sort("remind_at", 1)
        .limit(200)
    ),
    "today by due time": lambda db: _all(
        db.tasks.find({**eq(user_id=U, done=False), "due": {"$lt": now_date()}})
        .sort("due", 1)
        .limit(200)
    ),
    # Today's share of each shared list: its unassigned tasks' reminder and due times, and
    # what is assigned to the user
    "today in a shared list by reminder time": lambda db: _all(
        db.tasks.find(
            {
                **eq(user_id=U, list_id="L1", done=False, assignee_id=None),
                "remind_at": {"$lt": now_date()},
            }
        )
        .sort("remind_at", 1)
        .limit(50)
    ),
    "today in a shared list by due time": lambda db: _all(
        db.tasks.find(
            {
                **eq(user_id=U, list_id="L1", done=False, assignee_id=None),
                "due": {"$lt": now_date()},
            }
        )
        .sort("due", 1)
        .limit(50)
    ),
    "today in a shared list assigned to me": lambda db: _all(
        db.tasks.find(eq(user_id=U, list_id="L1", done=False, assignee_id="m"))
        .sort("order_key", -1)
        .limit(50)
    ),
    # linking (the account screen's counts and the confirmation)
    "user's custom lists counted": lambda db: _all(
        db.task_lists.find({**eq(user_id=U), "name_normalized": {"$gt": ""}}, {"_id": 1})
    ),
    "user's tasks counted": lambda db: _all(db.tasks.find(eq(user_id=U), {"_id": 1})),
    "link code offered": lambda db: db.link_codes.find_one_and_update(
        {"_id": "c7", "expires_ms": {"$gt": NOW}, "offered_to": {"$in": [0, 7]}},
        {"$set": {"offered_to": 7}},
    ),
    "link code deleted": lambda db: db.link_codes.delete_one({"_id": "c7"}),
    "link code cancelled": lambda db: db.link_codes.delete_one(
        eq(_id="c7", offered_to=7, claimed_by=0)
    ),
    "user unlinked": lambda db: db.users.update_one(
        eq(_id=ObjectId(U), telegram_id=1000), {"$set": {"telegram_id": None}}
    ),
    # the calendar feed (polled by calendar apps)
    "feed by token": lambda db: db.calendar_feeds.find_one(eq(token_hash="h7"), {"token_hash": 1}),
    "feed of a user": lambda db: db.calendar_feeds.find_one({"_id": U}, {"created_ms": 1}),
    "feed written": lambda db: db.calendar_feeds.replace_one(
        {"_id": U}, {"token_hash": "h8"}, upsert=True
    ),
    "feed deleted": lambda db: db.calendar_feeds.delete_one({"_id": U}),
    "feed tasks": lambda db: _all(
        db.tasks.find(eq(user_id=U, done=False), {"title": 1, "updated_at": 1, "version": 1})
        .sort("order_key", -1)
        .batch_size(500)
    ),
}


def now_date() -> datetime:
    return datetime(2030, 1, 1, tzinfo=UTC)


ERASE = Cold("erasing or merging an account: once per account, may scan")
ADMIN = Cold("the admin's user search (a regex over names): an admin screen, may scan")
SESSIONS = Cold(
    "the user's own sessions by an ObjectId user_id: nx-27017 matches an ObjectId outside "
    "`_id` only through `$in`, which scans; the sessions screen and log-out-everywhere only"
)
NOT_A_QUERY = Cold("not a database call")

# Every call of a query method in server/, by file and enclosing function.
SITES: dict[str, tuple[str, ...] | Cold] = {
    "accounts/access_gate.py::AccessGate._fetch_session": ("session by family",),
    "accounts/access_gate.py::AccessGate._fetch_tg": ("user by telegram id",),
    "accounts/access_gate.py::AccessGate._fetch_user": ("user by id",),
    "accounts/admin.py::Admin.list_users": ADMIN,
    "accounts/admin.py::Admin.set_active": ("user update by id",),
    "accounts/admin.py::Admin.set_role": ("user update by id",),
    "accounts/auth.py::AuthService._revoke_family": ("session revoke family",),
    "accounts/auth.py::AuthService.logout": (
        "session by token hash",
        "spent token by hash",
        "session by family",
    ),
    "accounts/auth.py::AuthService.refresh": (
        "session by token hash",
        "spent token by hash",
        "session refresh",
    ),
    "accounts/linking.py::TelegramLinking._claim": ("code by id",),
    "accounts/linking.py::TelegramLinking._link": ("user update by id",),
    "accounts/linking.py::TelegramLinking._merge": ("user update by id",),
    "accounts/linking.py::TelegramLinking.create_link": SESSIONS,
    "accounts/linking.py::TelegramLinking.redeem": ("code by id",),
    "accounts/manage.py::Accounts.erase": ERASE,
    "accounts/manage.py::Accounts.erase_records": ERASE,
    "accounts/profile.py::Profiles.update": ("user update by id",),
    "accounts/recovery.py::PasswordRecovery._send_code": ("reset code by id",),
    "accounts/recovery.py::PasswordRecovery.reset": ("reset code by id",),
    "accounts/sessions.py::Sessions.end": ("session end one",),
    "accounts/sessions.py::Sessions.end_all": SESSIONS,
    "accounts/sessions.py::Sessions.list": SESSIONS,
    "accounts/sessions.py::family_ids": SESSIONS,
    "accounts/users.py::Users.find_by_telegram_id": ("user by telegram id",),
    "accounts/users.py::Users.find_by_username": ("user by name",),
    "accounts/users.py::Users.get": ("user by id",),
    "common/mongo.py::find_one": NOT_A_QUERY,  # the helper: its callers are listed
    "common/throttle.py::RateLimiter._count": ("rate counter hit",),
    "common/throttle.py::RateLimiter.erase": ("rate counters by ids",),
    "common/throttle.py::RateLimiter.forgive": ("rate counters by ids",),
    "reminders/claims.py::ReminderClaims.close_gate": ("send gate",),
    "reminders/claims.py::ReminderClaims.gate_ms": ("send gate",),
    "reminders/claims.py::ReminderClaims.reserve": ("rate counter hit",),
    "reminders/delivery.py::ReminderDelivery._deliver_claimed": ("user by id",),
    "reminders/drafts.py::ReminderDrafts._set": ("reminder by id",),
    "reminders/drafts.py::ReminderDrafts.discard": ("reminder by id",),
    "reminders/reachability.py::ChatReachability.chat_blocked": ("user by telegram id",),
    # Every call on reminders, reminder_chats and reminder_prefs (reminders/store.py).
    "reminders/store.py::block": ("chat turn", "reminders of a user"),
    "reminders/store.py::cancel_pending": ("reminder by id",),
    "reminders/store.py::chat_blocked": ("chat by id",),
    "reminders/claim_store.py::claim": ("reminder claim",),
    "reminders/store.py::current": ("reminder by id",),
    "reminders/store.py::delete": ("reminder by id",),
    "reminders/store.py::delete_digest": ("reminder by id",),
    "reminders/claim_store.py::due_ids": ("due reminders",),
    "reminders/store.py::forget_user": ("reminders of a user", "quiet hours"),
    "reminders/store.py::of_user": Cold(
        "a data export: on demand, a few times per account (its find leads with the user's id)"
    ),
    "reminders/claim_store.py::next_due_ms": ("earliest due reminder",),
    "reminders/store.py::put": ("reminder by id",),
    "reminders/store.py::quiet_window": ("quiet hours",),
    "reminders/store.py::set_prefs": ("quiet hours",),
    "reminders/store.py::set_title": ("reminder by id",),
    "reminders/claim_store.py::take_chat_turn": ("chat turn",),
    "reminders/store.py::unblock": ("chat turn", "reminders of a user"),
    "reminders/claim_store.py::update_claimed": ("reminder by id",),
    "reminders/store.py::user_blocked": ("blocked chat of a user",),
    "tasks/lists.py::Lists.all": ("lists of a user",),
    "tasks/lists.py::Lists.builtin": ("built-in list",),
    "tasks/lists.py::Lists.delete": ("list by id and user",),
    "tasks/lists.py::Lists.ensure_builtins": ("user by id",),
    "tasks/lists.py::Lists.language": ("user by id",),
    "tasks/lists.py::Lists.move_tasks": ("tasks of a list moved",),
    "tasks/lists.py::Lists.open_counts": ("open counts",),
    "tasks/lists.py::Lists.rename": ("list by id and user",),
    "tasks/search_backend.py::MongoSearch._postings": ("search head", "search postings"),
    "tasks/search_backend.py::MongoSearch._allocate": ("search head numbered",),
    "tasks/search_backend.py::MongoSearch._generation": ("search directory",),
    "tasks/search_backend.py::MongoSearch._drop": ("search postings written",),
    "tasks/search_backend.py::MongoSearch._from_postings": ("search candidates",),
    "tasks/search_backend.py::MongoSearch._write": ("search postings written",),
    "tasks/search_backend.py::MongoSearch._candidates": Cold(
        "the terms query, only until the postings are built (once, after the upgrade)"
    ),
    "tasks/search_backend.py::MongoSearch.search": ("search candidates",),
    # a merge, an erase, a list's new owner: the user's postings deleted by the user_id
    # index, their tasks read by theirs, the new layout inserted
    "tasks/search_backend.py::MongoSearch.reindex_user": (
        "search postings of a user deleted",
        "tasks of a user counted",
        "search head deleted",
        "search head numbered",
        "search postings written",
    ),
    "tasks/search_backend.py::MongoSearch.backfill": Cold(
        "once, at the first start after an upgrade, in the background"
    ),
    "tasks/service.py::Tasks._change": ("task write", "task write at version 0"),
    "tasks/service.py::Tasks._load": ("task by id and user",),
    "tasks/service.py::Tasks._merge_target": ERASE,
    "tasks/service.py::Tasks.delete": (
        "task by id and user",
        "task delete at a version",
        "task write at version 0",
    ),
    "tasks/service.py::Tasks.erase_user": ERASE,
    "tasks/service.py::Tasks._check_tasks_quota": (
        "task tally counted",
        "task tally set",
        "task tally changed",
    ),
    "tasks/service.py::_tally": ("task tally changed",),
    "tasks/service.py::_forget_tallies": ("task tallies dropped",),
    "tasks/service.py::_count": ("tasks of a user counted",),
    "tasks/service.py::Tasks.move_all": ERASE,
    "tasks/service.py::Tasks.page": ("task page", "task page of a list", "task page, all states"),
    "tasks/service.py::Tasks.set_remind_at": ("task by id and user",),
    "tasks/service.py::Tasks.window": ("task window by offset",),
    "updates.py::UpdateJournal.claim_stale": ("stale updates",),
    "updates.py::UpdateJournal.forget_sender": ERASE,
    "updates.py::UpdateJournal.mark_handled": ("update handled",),
    "updates.py::UpdateJournal.renew_claims": ("update claims renewed",),
    # account security
    # the sign-in's session cap (by `user_key`; by `user_id` only until `key_sessions` ran)
    "accounts/auth.py::AuthService._cap_sessions": (
        "sessions of a user by key",
        "sessions ended by the cap",
    ),
    "accounts/auth.py::AuthService.key_sessions": Cold(
        "once per process at start, in the background: sessions written before `user_key`"
    ),
    "accounts/linking.py::TelegramLinking.preview": ("link code offered", "link code deleted"),
    "accounts/linking.py::TelegramLinking.cancel": ("link code cancelled",),
    "accounts/linking.py::TelegramLinking.unlink": ("user unlinked",),
    # quotas: the helper, by its three callers' shapes
    "common/mongo.py::at_least": ("tasks quota", "active reminders quota", "lists quota"),
    # bot questions
    "reminders/questions.py::Questions.ask": ("bot question asked",),
    "reminders/questions.py::Questions.pending": ("bot question",),
    "reminders/questions.py::Questions.clear": ("bot question answered",),
    # data: the feed is polled by calendar apps (hot); export and import are on demand
    "portability/feed.py::CalendarFeeds.enable": ("feed written",),
    "portability/feed.py::CalendarFeeds.disable": ("feed deleted",),
    "portability/feed.py::CalendarFeeds.status": ("feed of a user",),
    "portability/feed.py::CalendarFeeds.owner": ("feed by token",),
    "portability/feed.py::CalendarFeeds.render": ("user by id",),
    "portability/feed.py::CalendarFeeds._fingerprint": Cold(
        "its $match is index-served, but nx-27017 runs `SELECT COUNT(1)` over the collection "
        "before any aggregation (a covering-index walk, ~65 us per 1,000 tasks); the find "
        "alternative measured 50x slower for 10,000 open tasks (docs/query-sites.md)"
    ),
    "portability/feed.py::CalendarFeeds._build": ("feed tasks",),
    "portability/export.py::Exporter.chunks": Cold(
        "a data export: on demand, a few times per account (its finds lead with the user's id)"
    ),
    "portability/importer.py::Importer.run": Cold(
        "an import: on demand, rare; bounded by the file's size limit"
    ),
    "portability/links.py::DataLinks.erase_user": ERASE,
    # sharing
    "sharing/access.py::role_of": ("membership by id",),
    "sharing/service.py::_user": ("user by id",),
    "sharing/service.py::Sharing.revoke": ("invite revoked",),
    "sharing/service.py::Sharing.accept": ("invite accepted",),
    "sharing/service.py::Sharing.members": ("members of a list",),
    "sharing/service.py::Sharing.set_role": ("membership changed",),
    "sharing/service.py::Sharing.remove": ("membership deleted",),
    "sharing/service.py::Sharing._open": ("invite by code", "list by id"),
    "sharing/service.py::Sharing._open_invites": ("invites of a list",),
    "sharing/service.py::Sharing._check_lists_quota": ("members of an owner",),
    "sharing/service.py::Sharing._count": (
        "members of a list counted",
        "memberships of a user",
    ),
    "sharing/service.py::Sharing._transfer": (
        "list handed over",
        "membership deleted",
        "members of a list handed over",
        "invites of a list handed over",
    ),
    # group chats (sharing/groups.py)
    "sharing/groups.py::Groups.find": ("list of a group chat",),
    "sharing/groups.py::Groups.open": ("list of a group chat",),
    "sharing/groups.py::Groups.added": ("list of a group chat",),
    "sharing/groups.py::Groups._create": ("lists quota", "list of a group chat"),
    "sharing/groups.py::Groups.left": ("group list left or back",),
    "sharing/groups.py::Groups.returned": ("group list left or back",),
    "sharing/groups.py::Groups.migrate": (
        "group list migrated",
        "list of a group chat",
        "a task of a list",
        "list deleted",
        "members of a list deleted",
    ),
    "sharing/groups.py::Groups.chat_for_task": ("task's list by task id", "group of a list"),
    "../telegram/group_handlers.py::GroupChats.enlist_presser": NOT_A_QUERY,  # Groups.find
    "sharing/service.py::Sharing.owned_members": ("members of an owner",),  # an export
    "sharing/service.py::Sharing.joined": ("memberships of a user", "list by id"),  # an export
    "sharing/service.py::Sharing.erase_user": ERASE,
    "sharing/notices.py::ChangeNotices.recipients": (
        "members of a list, their ids",
        "users opted in to change notices",
    ),
    "sharing/notices.py::ChangeNotices._record": (
        "change batch counted",
        "change batch's first of a kind",
    ),
    "sharing/notices.py::ChangeNotices.claim_due": ("change batch claim",),
    "sharing/notices.py::ChangeNotices.next_due_ms": ("earliest due change batch",),
    "sharing/notices.py::ChangeNotices._deliver": ("change batch sent",),
    "sharing/notices.py::ChangeNotices._release": ("change batch released",),
    "sharing/notices.py::ChangeNotices._finish": (
        "change batch sent",
        "change batch as its claim holder",
        "change batch kept",
    ),
    "sharing/notices.py::ChangeNotices._notice": ("user by id", "list by id"),
    "sharing/notices.py::ChangeNotices._quiet_until": ("user by id",),
    "sharing/notices.py::ChangeNotices.erase_user": ERASE,
    "sharing/service.py::Sharing.move_all": ERASE,
    "sharing/merge.py::follow_merged_list": ERASE,
    "sharing/merge.py::_role": ERASE,
    # lists and tasks, with sharing and Today
    "tasks/lists.py::Lists.access": ("list by id",),
    "tasks/lists.py::Lists.shared_with": ("memberships of a user", "list by id"),
    "tasks/lists.py::Lists.open_count": ("open tasks of a list counted",),
    "tasks/lists.py::Lists.members_counts": ("members of an owner",),
    "tasks/service.py::Tasks.today": (
        "today by list",
        "today by reminder time",
        "today by due time",
        "today in a shared list by reminder time",
        "today in a shared list by due time",
        "today in a shared list assigned to me",
    ),
    "tasks/service.py::Tasks._zone": ("user by id",),
    "tasks/service.py::_zone": ("user by id",),
    "tasks/service.py::Tasks._load_for": ("task by id", "list by id"),
    "tasks/service.py::Tasks._assignee": ("list by id",),
    "tasks/service.py::Tasks.holdings": ("user's custom lists counted", "user's tasks counted"),
    "tasks/service.py::Tasks.release_member": ("tasks of a list held by a member",),
    "tasks/service.py::Tasks.change_owner": Cold(
        "a shared list changes owner (the owner leaves or erases the account): once per "
        "list; served by `list_tasks` all the same"
    ),
    "../telegram/task_handlers.py::find": NOT_A_QUERY,  # the tasks service's search
}

QUERY_METHODS = {
    "find", "find_one", "find_one_and_update", "find_one_and_delete", "find_one_and_replace",
    "update_one", "update_many", "delete_one", "delete_many", "replace_one",
    "count_documents", "aggregate", "distinct", "bulk_write",
}  # fmt: skip


# `make mutate` runs this test on mutmut's copy of server/, where a mutated function `f` (or
# method `C.f`) is kept as `x_f__mutmut_orig` (`xǁCǁf__mutmut_orig`) beside its mutants
# `…__mutmut_1`, `…__mutmut_2`: the original counts under its own name, the mutants not.
_MUTMUT = re.compile(r"^x(?:ǁ\w+ǁ|_)(\w+?)__mutmut_(\w+)$")


def _unmutated_name(name: str) -> str | None:
    found = _MUTMUT.match(name)
    if found is None:
        return name
    return found.group(1) if found.group(2) == "orig" else None


def query_sites() -> set[str]:
    """`<path under server/services>::<enclosing function>` of every query method call in
    server/ (a path outside services/ starts with `../`)."""
    services = ROOT / "server" / "services"
    found: set[str] = set()
    for path in sorted((ROOT / "server").rglob("*.py")):
        where = path.relative_to(services) if services in path.parents else None
        name = str(where) if where else "../" + str(path.relative_to(ROOT / "server"))

        def walk(node: ast.AST, stack: list[str], name: str = name) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    original = _unmutated_name(child.name)
                    if original is not None:
                        walk(child, [*stack, original])
                    continue
                if isinstance(child, ast.Call):
                    func = child.func
                    method = (  # a driver's method, or the `mongo.find_one` helper
                        func.attr
                        if isinstance(func, ast.Attribute)
                        else func.id
                        if isinstance(func, ast.Name)
                        else None
                    )
                    if method in QUERY_METHODS:
                        found.add(f"{name}::{'.'.join(stack)}")
                walk(child, stack)

        walk(ast.parse(path.read_text()), [])
    return found


def test_every_query_site_is_registered():
    sites = query_sites()
    assert sorted(sites - SITES.keys()) == [], "a new query: add its shape to HOT and SITES"
    assert sorted(SITES.keys() - sites) == [], "a registered site is gone: remove its entry"
    named = {name for entry in SITES.values() if not isinstance(entry, Cold) for name in entry}
    assert sorted(named - HOT.keys()) == []


# ---------------------------------------------------------------- the plans


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TracedServer]:
    server = TracedServer(tmp_path_factory.mktemp("nx-traced"))
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(traced: TracedServer) -> AsyncIterator[tuple[TracedServer, str, Any]]:
    """The app's collections and indexes (init_beanie makes them), with USERS users' worth
    of documents in each, in the shapes the services write."""
    name = f"plans_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[Any] = AsyncMongoClient(traced.uri, tz_aware=True)
    await init_models(client, name)
    db = client[name]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    users, lists, tasks, sessions, reminders, chats = [], [], [], [], [], []
    for n in range(USERS):
        uid = f"{n:024x}"
        users.append({"_id": ObjectId(uid), "username": f"User{n}", "telegram_id": 1000 + n,
                      "username_normalized": f"user{n}", "active": True, "role": "user",
                      "tokens_valid_after": 0})  # fmt: skip
        lists.append({"user_id": uid, "key": "inbox", "name_normalized": None})
        lists.append(
            {
                "user_id": uid,
                "key": None,
                "name_normalized": f"g{n}",
                "group_chat_id": -1000 - n if n % 3 == 0 else None,
            }
        )
        sessions.append({"user_id": ObjectId(uid), "family_id": f"f{n}", "token_hash": f"h{n}",
                         "revoked": False, "expires_at": now + timedelta(days=30)})  # fmt: skip
        chats.append({"_id": 1000 + n, "user_id": uid, "blocked_ms": 0, "next_ms": 0})
        for k in range(5):
            tasks.append({"user_id": uid, "list_id": f"L{k % 2}", "done": k == 4,
                          "order_key": f"{k}", "title": "молоко", "version": 0})  # fmt: skip
            reminders.append({"user_id": uid, "state": PENDING, "paused": 0,
                              "due_ms": NOW + k * 1000, "lease_ms": 0, "title": "x"})  # fmt: skip
    await db.users.insert_many(users)
    await db.task_lists.insert_many(lists)
    await db.tasks.insert_many(tasks)
    for n, session in enumerate(sessions):  # as open_session writes them: keyed by user
        session |= {"user_key": str(session["user_id"]), "last_used_ms": n}
    await db.refresh_sessions.insert_many(sessions)
    await db.reminders.insert_many(reminders)
    await db.reminder_chats.insert_many(chats)
    for collection in await db.list_collection_names():  # each one's first TTL purge
        await db[collection].find_one({"_id": 0})
    yield traced, name, db
    await client.drop_database(name)
    await client.close()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("shape", sorted(HOT))
async def test_a_hot_query_shape_is_served_by_an_index(seeded, shape):
    traced, name, db = seeded
    with traced.trace(name) as trace:
        result = HOT[shape](db)
        if hasattr(result, "__await__"):
            result = await result
    assert trace.statements, "no statement ran: the trace saw nothing"
    scanning = [(s.sql, s.plan) for s in trace.statements if s.scans]
    assert scanning == []


@pytest.mark.asyncio(loop_scope="module")
async def test_the_check_sees_a_scan(seeded):
    """The test above can fail: a plain equality (and `$in` on an ObjectId field) scans."""
    traced, name, db = seeded
    with traced.trace(name) as trace:
        await db.tasks.find_one({"user_id": U, "done": False})
    assert trace.scans == ["tasks"]
    with traced.trace(name) as trace:
        await _all(db.refresh_sessions.find({"user_id": {"$in": [ObjectId(U)]}}))
    assert trace.scans == ["refresh_sessions"]

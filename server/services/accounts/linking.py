"""Linking a Telegram account to an account of ours: a one-time deep link
`https://t.me/<bot>?start=link_<code>`, opened in Telegram, first shows the Telegram user what
would happen (`preview`: the web account's name, what would move) and reserves the code for
that Telegram account; only their Confirm (`redeem`) binds it, and Cancel (`cancel`) spends the
code. A stranger who gets someone to open a link therefore cannot absorb their account without
them reading the account's name and agreeing; a button press from any other Telegram account
does nothing. If the Telegram account already has its own account (it pressed /start before),
the two are merged into the linking one. `unlink` detaches the Telegram account again.

The merge touches several collections and the embedded database has no reliable
transactions, so it is a sequence of idempotent steps that a retry finishes: the code is
claimed by the Telegram id (with a lease), every data owner moves what is left, the emptied
account's records and then the account itself are deleted, and last the Telegram id is set on
the kept account. If the process dies half-way, the webhook update is handled again
(UPDATE_RETRY_AFTER), the lease has lapsed by then, and the same steps resume.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import LinkCode, User
from models.clock import epoch_ms, from_ms
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.manage import Accounts
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.accounts.users import TelegramProfile, Users
from server.services.common.errors import Conflict, NotConfigured, Unavailable
from server.services.common.mongo import eq, same_id

log = logging.getLogger(__name__)

LINK_CODE_TTL = 600  # seconds
LINK_PREFIX = "link_"  # the /start payload: link_<code>
LINK_CLAIM_LEASE = 30  # seconds a claim holds off a second handling of the same code
MAX_CODE_LENGTH = 64 - len(LINK_PREFIX)  # a deep-link payload has at most 64 characters
# Preferences the kept account takes from the merged one when it has none of its own.
MOVED_IF_MISSING = ("username", "username_normalized", "password_hash", "timezone", "language")
# What unlinking clears: the Telegram identity (the user's own names and settings stay).
TELEGRAM_FIELDS = ("telegram_id", "telegram_username")


class LinkOutcome(StrEnum):
    LINKED = "linked"  # bound; the Telegram account had no account of its own
    MERGED = "merged"  # bound, and its own account was merged into this one
    ALREADY_LINKED = "already_linked"  # it was bound already (opened twice)
    INVALID = "invalid"  # unknown, expired, or used by another Telegram account
    BUSY = "busy"  # the same link is being handled right now (a double tap)
    LINKED_ELSEWHERE = "linked_elsewhere"  # the account has another Telegram account
    BOTH_PASSWORDS = "both_passwords"  # both accounts have a password: no automatic merge
    DEACTIVATED = "deactivated"  # one of the two accounts is deactivated
    CANCELLED = "cancelled"  # the Telegram user pressed Cancel on the confirmation screen


@dataclass(frozen=True, slots=True)
class LinkResult:
    outcome: LinkOutcome
    username: str | None = None  # the account the Telegram account is now bound to


@dataclass(frozen=True, slots=True)
class LinkPreview:
    """What the confirmation screen names: the account the Telegram account would be bound
    to, and what would move there from the Telegram account's own account (if it has one)."""

    username: str | None
    merge: bool  # the Telegram account has an account of its own, merged on Confirm
    lists: int  # its lists that would move (its own, not the built-in ones)
    tasks: int  # its tasks that would move


@dataclass(frozen=True, slots=True)
class LinkOffer:
    url: str
    expires_in: int


class TelegramLinking:
    def __init__(
        self, accounts: Accounts, users: Users, gate: AccessGate, channel: TelegramChannel
    ) -> None:
        self._accounts = accounts
        self._users = users
        self._gate = gate
        self._channel = channel

    async def create_link(self, user_id: PydanticObjectId) -> LinkOffer:
        """A deep link that binds whichever Telegram account opens it to this user (single
        use, LINK_CODE_TTL). A new link replaces the previous one."""
        if not self._channel.configured:
            raise NotConfigured("Linking Telegram needs TELEGRAM_BOT_TOKEN on the server")
        bot = self._channel.username
        if bot is None:
            raise Unavailable("The bot's username is not known yet; try again shortly")
        user = await self._users.get(user_id)
        if user.telegram_id is not None:
            raise Conflict("This account is already linked to a Telegram account")
        code = secrets.token_urlsafe(24)
        expires_ms = epoch_ms() + LINK_CODE_TTL * 1000
        doc = {
            "_id": _hash(code),
            "user_id": user_id,
            "expires_ms": expires_ms,
            "offered_to": 0,
            "claimed_by": 0,
            "claimed_until": 0,
            "expires_at": from_ms(expires_ms),
        }
        codes = LinkCode.get_pymongo_collection()
        for attempt in range(2):
            # One code per user (unique index). A code being redeemed right now is kept, so
            # a second Telegram account cannot start merging into this user at the same time.
            await codes.delete_many({"user_id": same_id(user_id), "claimed_by": 0})
            try:
                await codes.insert_one(doc)
                break
            except DuplicateKeyError:
                if attempt:
                    raise Conflict("A link of this account is being used right now") from None
        return LinkOffer(f"https://t.me/{bot}?start={LINK_PREFIX}{code}", LINK_CODE_TTL)

    async def preview(self, code: str, profile: TelegramProfile) -> LinkPreview | LinkResult:
        """The confirmation screen for `/start link_<code>`: reserve the code for this Telegram
        account (from now on only it may confirm or cancel) and say what Confirm would do. A
        link that cannot succeed (its account is linked already, both have passwords, …) is
        spent at once and the reason returned, as `redeem` would."""
        telegram_id = profile.telegram_id
        if not code or len(code) > MAX_CODE_LENGTH:
            return LinkResult(LinkOutcome.INVALID)
        code_hash = _hash(code)
        doc = await LinkCode.get_pymongo_collection().find_one_and_update(
            {
                "_id": code_hash,
                "expires_ms": {"$gt": epoch_ms()},
                # The first Telegram account to open it keeps it; opening it again is fine.
                # (Only that account can claim it, so no other can be confirming it now.)
                "offered_to": {"$in": [0, telegram_id]},
            },
            {"$set": {"offered_to": telegram_id}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return LinkResult(LinkOutcome.INVALID)
        target = await User.get(doc["user_id"])
        source = await self._users.find_by_telegram_id(telegram_id)
        refusal = _refusal(target, source, telegram_id)
        if refusal is not None:
            await LinkCode.get_pymongo_collection().delete_one({"_id": code_hash})
            return refusal
        assert target is not None
        lists = tasks = 0
        if source is not None and source.id is not None:
            for owner in self._accounts.data_owners:
                held = await owner.holdings(source.id)
                lists += held.lists
                tasks += held.tasks
        return LinkPreview(target.username, source is not None, lists, tasks)

    async def cancel(self, code: str, profile: TelegramProfile) -> bool:
        """Cancel on the confirmation screen: the code is spent. Only the Telegram account the
        code was shown to can cancel it (anyone else's press changes nothing: False)."""
        if not code or len(code) > MAX_CODE_LENGTH:
            return False
        result = await LinkCode.get_pymongo_collection().delete_one(
            eq(_id=_hash(code), offered_to=profile.telegram_id, claimed_by=0)
        )
        return result.deleted_count == 1

    async def redeem(self, code: str, profile: TelegramProfile) -> LinkResult:
        """Confirm on the confirmation screen: bind the Telegram account to the link's user
        (merging its own account, if any). Only the Telegram account the code was shown to
        (`preview`) may confirm it; for anyone else the code is INVALID and stays as it was."""
        telegram_id = profile.telegram_id
        if not code or len(code) > MAX_CODE_LENGTH:
            return LinkResult(LinkOutcome.INVALID)
        claimed = await self._claim(_hash(code), telegram_id)
        if claimed is None:
            return LinkResult(LinkOutcome.INVALID)
        if isinstance(claimed, LinkOutcome):
            return LinkResult(claimed)
        result = await self._link(claimed, profile)
        # Used up, whatever the outcome (a refusal included): a link works once.
        await LinkCode.get_pymongo_collection().delete_one({"_id": _hash(code)})
        return result

    async def unlink(self, user_id: PydanticObjectId) -> User:
        """Detach the user's Telegram account. The account keeps everything (lists, tasks,
        sessions, password); it must have a username and a password, or nobody could sign in
        to it any more. The Telegram account is then a stranger here: its next /start (or Mini
        App visit) makes it a new, empty account of its own. Returns the updated user."""
        user = await self._users.get(user_id)
        telegram_id = user.telegram_id
        if telegram_id is None:
            raise Conflict("This account is not linked to a Telegram account")
        if not user.has_password or user.username is None:
            raise Conflict(
                "Set a username and a password first: without Telegram they are the only way "
                "to sign in to this account"
            )
        detached: dict[str, Any] = {field: None for field in TELEGRAM_FIELDS}
        result = await User.get_pymongo_collection().update_one(
            eq(_id=user_id, telegram_id=telegram_id), {"$set": detached}
        )
        if result.matched_count == 0:
            raise Conflict("The account changed meanwhile; try again")
        # Every cache that maps this Telegram id to the user forgets it (the gate's, Users').
        self._gate.note_telegram_detached(user_id, telegram_id)
        updated: User = user.model_copy(update=detached)
        self._gate.note_user(updated)
        log.info("telegram account unlinked from user %s", user_id)
        return updated

    async def _claim(
        self, code_hash: str, telegram_id: int
    ) -> PydanticObjectId | LinkOutcome | None:
        """Atomically make the code this Telegram id's; of two Telegram accounts racing, one
        wins. The same Telegram id may take it again once its lease lapsed (a resumed
        handling after a crash). Two queries rather than one `$or` (see DESIGN.md)."""
        now = epoch_ms()
        codes = LinkCode.get_pymongo_collection()
        claim = {
            "$set": {"claimed_by": telegram_id, "claimed_until": now + LINK_CLAIM_LEASE * 1000}
        }
        # Only the Telegram account the confirmation screen was shown to may claim it.
        live = {"_id": code_hash, "expires_ms": {"$gt": now}, "offered_to": telegram_id}
        doc = await codes.find_one_and_update(
            {**live, "claimed_by": 0}, claim, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            doc = await codes.find_one_and_update(
                {**live, "claimed_by": telegram_id, "claimed_until": {"$lt": now}},
                claim,
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            mine = await codes.find_one({**live, "claimed_by": telegram_id}, {"_id": 1})
            return LinkOutcome.BUSY if mine is not None else None
        user_id: PydanticObjectId = doc["user_id"]
        return user_id

    async def _link(self, target_id: PydanticObjectId, profile: TelegramProfile) -> LinkResult:
        telegram_id = profile.telegram_id
        for _ in range(3):  # a concurrent /start or link may change the picture: look again
            target = await User.get(target_id)
            if target is None:
                return LinkResult(LinkOutcome.INVALID)  # deleted since the link was made
            if not target.active:
                return LinkResult(LinkOutcome.DEACTIVATED)
            if target.telegram_id == telegram_id:
                return LinkResult(LinkOutcome.ALREADY_LINKED, target.username)
            if target.telegram_id is not None:
                return LinkResult(LinkOutcome.LINKED_ELSEWHERE, target.username)
            moved: dict[str, Any] = {}
            source = await self._users.find_by_telegram_id(telegram_id)
            if source is not None:
                if source.has_password and target.has_password:
                    return LinkResult(LinkOutcome.BOTH_PASSWORDS, target.username)
                if not source.active:
                    return LinkResult(LinkOutcome.DEACTIVATED)
                moved = {
                    field: getattr(source, field)
                    for field in MOVED_IF_MISSING
                    if getattr(target, field) is None and getattr(source, field) is not None
                }
                await self._merge(source, target)
            fields = {
                "telegram_id": telegram_id,
                "telegram_username": profile.username,
                "first_name": profile.first_name,
                "last_name": profile.last_name,
                "language_code": profile.language_code,
                **moved,
            }
            try:
                result = await User.get_pymongo_collection().update_one(
                    {"_id": target_id, "telegram_id": None}, {"$set": fields}
                )
            except DuplicateKeyError:
                continue  # an account for this Telegram id appeared meanwhile: merge it too
            if result.matched_count == 0:
                continue
            self._gate.note_user(target.model_copy(update=fields))
            log.info(
                "telegram account linked to user %s%s", target_id, " (merged)" if source else ""
            )
            outcome = LinkOutcome.MERGED if source is not None else LinkOutcome.LINKED
            return LinkResult(outcome, fields.get("username") or target.username)
        raise Conflict("The accounts kept changing while linking; try again")

    async def _merge(self, source: User, target: User) -> None:
        """Move everything of `source` to `target`, then remove `source`. Idempotent steps."""
        assert source.id is not None
        assert target.id is not None
        for owner in self._accounts.data_owners:
            await owner.move_all(source.id, target.id)
        await self._accounts.erase_records(source)
        await User.get_pymongo_collection().delete_one({"_id": source.id})
        self._gate.note_user_gone(source.id, source.telegram_id)
        log.info("user %s merged into user %s", source.id, target.id)


def _refusal(target: User | None, source: User | None, telegram_id: int) -> LinkResult | None:
    """Why linking `telegram_id` (whose own account is `source`) to `target` cannot work,
    told before the confirmation screen; `_link` checks the same again on Confirm."""
    if target is None:
        return LinkResult(LinkOutcome.INVALID)  # deleted since the link was made
    if not target.active or (source is not None and not source.active):
        return LinkResult(LinkOutcome.DEACTIVATED)
    if target.telegram_id == telegram_id:
        return LinkResult(LinkOutcome.ALREADY_LINKED, target.username)
    if target.telegram_id is not None:
        return LinkResult(LinkOutcome.LINKED_ELSEWHERE, target.username)
    if source is not None and source.has_password and target.has_password:
        return LinkResult(LinkOutcome.BOTH_PASSWORDS, target.username)
    return None


def _hash(code: str) -> str:
    # A fast hash is right here: the code has 192 bits of entropy, nothing to brute-force.
    return hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()

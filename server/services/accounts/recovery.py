"""Forgot password: the bot sends a one-time code to the account's Telegram chat; the code and
a new password then reset it.

- `forgot` answers the same, in the same time, whatever the username: only the per-address
  limit is checked in the request; looking the user up, storing and sending the code happen
  after the answer (a background task), and are the same work for every name but the send
  itself (a code for no account is stored under a decoy id), so neither the answer, nor its
  timing, nor the load left behind tells whether the account exists or has Telegram.
- A code is 8 digits, valid RESET_CODE_TTL (10 min) for RESET_CODE_TRIES (5) tries, one per
  user (a new one replaces the old), stored as an HMAC keyed with a server secret (a database
  leak alone does not reveal codes; 10^8 codes are no match for a keyed hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from models import ResetCode
from models.clock import epoch_ms, from_ms
from server.services.accounts.manage import Accounts
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.accounts.tokens import TokenPair
from server.services.accounts.users import Users, normalize_username
from server.services.common.errors import AccountDeactivated, InvalidResetCode, TooManyAttempts
from server.services.common.throttle import Limit, RateLimiter

log = logging.getLogger(__name__)

RESET_CODE_TTL = 600  # seconds
RESET_CODE_TRIES = 5
RESET_CODE_DIGITS = 8


@dataclass(frozen=True, slots=True)
class RecoveryLimits:
    # Codes sent per username: beyond it the answer is still 202, but no code is sent (so a
    # stranger cannot flood someone's Telegram, and a 429 would tell nothing anyway).
    forgot_per_username: Limit
    # Forgot and reset requests per client address: beyond it, 429.
    per_address: Limit


class PasswordRecovery:
    def __init__(
        self,
        accounts: Accounts,
        users: Users,
        limiter: RateLimiter,
        limits: RecoveryLimits,
        channel: TelegramChannel,
        code_key: bytes,
    ) -> None:
        self._accounts = accounts
        self._users = users
        self._limiter = limiter
        self._limits = limits
        self._channel = channel
        self._code_key = code_key
        self._background: set[asyncio.Task[None]] = set()

    async def forgot(self, username: str, client: str) -> None:
        """Ask for a reset code. Returns at once; the code (if any) is sent in the background."""
        await self._limiter.hit((self._limits.per_address, client))
        self._spawn(self._send_code(username))

    async def reset(
        self,
        username: str,
        code: str,
        new_password: str,
        client: str,
        user_agent: str | None = None,
    ) -> TokenPair:
        """Set a new password with a code from the bot; every other session ends."""
        await self._limiter.hit((self._limits.per_address, client))
        self._accounts.check_new_password(new_password, "new_password")
        user = await self._users.find_by_username(username)
        if user is None or user.id is None:
            raise InvalidResetCode()
        codes = ResetCode.get_pymongo_collection()
        # Counting the try and checking it is allowed is one atomic step: parallel guesses
        # cannot get more than RESET_CODE_TRIES between them.
        doc = await codes.find_one_and_update(
            {
                "_id": user.id,
                "attempts": {"$lt": RESET_CODE_TRIES},
                "expires_ms": {"$gt": epoch_ms()},
            },
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise InvalidResetCode()
        stored = doc["code_hash"]
        if not hmac.compare_digest(stored, self._hash(code)):
            if doc["attempts"] >= RESET_CODE_TRIES:  # the last try: the code is dead
                await codes.delete_one({"_id": user.id, "code_hash": stored})
            raise InvalidResetCode()
        spent = await codes.delete_one({"_id": user.id, "code_hash": stored})
        if spent.deleted_count != 1:  # a parallel reset used it first
            raise InvalidResetCode()
        if not user.active:  # told only to whoever holds a valid code
            raise AccountDeactivated()
        log.info("password reset with a code for user %s", user.id)
        return await self._accounts.replace_password(user, new_password, user_agent)

    async def drain(self) -> None:
        """Wait for codes still being sent (at shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # ---------------------------------------------------------------------------

    async def _send_code(self, username: str) -> None:
        try:
            await self._limiter.hit(
                (self._limits.forgot_per_username, normalize_username(username))
            )
        except TooManyAttempts:
            log.info("password reset: too many codes asked for one username; none sent")
            return
        user = await self._users.find_by_username(username)
        messenger = self._channel.messenger
        reachable = user is not None and user.telegram_id is not None and user.active
        # The same work whether or not a code goes out (the lookup, a code, its keyed hash, one
        # write): neither the answer's timing nor the load this leaves behind on the process
        # and the database tells whether the account exists. Without one, the code is stored
        # under a decoy id derived from the name (replaced each time, purged by the TTL), which
        # no user has and no reset can reach.
        owner = user.id if reachable and messenger is not None and user is not None else None
        key = owner if owner is not None else _decoy_id(username)
        code = f"{secrets.randbelow(10**RESET_CODE_DIGITS):0{RESET_CODE_DIGITS}d}"
        expires_ms = epoch_ms() + RESET_CODE_TTL * 1000
        # Written whole (replace, upsert): a new code replaces the old one and its tries.
        await ResetCode.get_pymongo_collection().replace_one(
            {"_id": key},
            {
                "_id": key,
                "code_hash": self._hash(code),
                "attempts": 0,
                "expires_ms": expires_ms,
                "expires_at": from_ms(expires_ms),
            },
            upsert=True,
        )
        if owner is None or user is None or user.telegram_id is None or messenger is None:
            if reachable:
                log.warning("password reset: the bot is not running; no code sent")
            return  # nothing to send, and nobody is told
        await messenger.send_reset_code(
            user.telegram_id, user.language or user.language_code, code, RESET_CODE_TTL // 60
        )
        log.info("password reset code sent to user %s", user.id)

    def _hash(self, code: str) -> str:
        digits = "".join(code.split()).replace("-", "")  # "1234 5678", "1234-5678" as typed
        return hmac.new(self._code_key, digits.encode(), hashlib.sha256).hexdigest()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._logged(work))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception as exc:  # no one awaits it: log instead of losing it
            log.warning("password reset: could not send a code: %s", type(exc).__name__)


def _decoy_id(username: str) -> ObjectId:
    """An id no user has (96 bits of a hash of the name, so a name always gets the same one
    and decoys do not pile up) for the code stored when no code is sent."""
    digest = hashlib.sha256(b"decoy\n" + normalize_username(username).encode()).digest()
    return ObjectId(digest[:12])

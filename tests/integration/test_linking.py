"""Telegram linking in the service, on a real database: what a link code is, who may redeem it
(once, in time, one Telegram account of two racing), each outcome of binding and merging, and
that a code is spent whatever the outcome. (Through the bot and HTTP:
tests/e2e/test_account_telegram.py.)"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest

from models.clock import epoch_ms, from_ms
from server.services.accounts.linking import (
    LINK_CLAIM_LEASE,
    LINK_CODE_TTL,
    MAX_CODE_LENGTH,
    LinkOutcome,
    LinkPreview,
    LinkResult,
)
from server.services.accounts.users import TelegramProfile
from server.services.common.errors import Conflict, InvalidToken, NotConfigured, Unavailable
from tests.account_helpers import add_notes, notes_of
from tests.integration.accounts_env import BOT_USERNAME, AccountsEnv, make_accounts

PREFIX = f"https://t.me/{BOT_USERNAME}?start=link_"
HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"  # any stored hash


def sha256(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()


async def new_link(env: AccountsEnv, user_id: Any) -> str:
    offer = await env.services.linking.create_link(user_id)
    assert offer.url.startswith(PREFIX), offer.url
    return offer.url.removeprefix(PREFIX)


async def shown_to(env: AccountsEnv, code: str, telegram_id: int) -> None:
    """The confirmation question was shown to this Telegram account (what `preview` records),
    so that what `redeem` does when its Confirm arrives can be tested on its own."""
    await env.db["link_codes"].update_one(
        {"_id": sha256(code), "offered_to": 0}, {"$set": {"offered_to": telegram_id}}
    )


async def redeem(env: AccountsEnv, code: str, telegram_id: int, **profile: Any) -> LinkResult:
    """The Telegram account was shown the question and pressed Confirm."""
    await shown_to(env, code, telegram_id)
    return await env.services.linking.redeem(code, TelegramProfile(telegram_id, **profile))


async def codes(env: AccountsEnv) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await env.db["link_codes"].find({}).to_list()
    return found


# --- making a link --------------------------------------------------------------------------


NOW_MS = 1_800_000_000_123


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The linking service's wall clock stands still at NOW_MS."""
    monkeypatch.setattr("server.services.accounts.linking.epoch_ms", lambda: NOW_MS)


@pytest.mark.usefixtures("frozen")
async def test_a_link_is_a_deep_link_to_the_bot_with_a_hashed_single_code(
    accounts: AccountsEnv,
) -> None:
    user = await accounts.add_user(username="uma")

    offer = await accounts.services.linking.create_link(user.id)  # type: ignore[arg-type]

    code = offer.url.removeprefix(PREFIX)
    assert offer.url == PREFIX + code
    assert len(code) == 32  # 24 random bytes, base64url
    assert offer.expires_in == LINK_CODE_TTL == 600
    [doc] = await codes(accounts)
    assert doc["_id"] == sha256(code)  # only the hash is stored
    assert doc["user_id"] == user.id
    assert (doc["claimed_by"], doc["claimed_until"]) == (0, 0)
    assert doc["expires_ms"] == NOW_MS + 600_000
    assert doc["expires_at"].replace(tzinfo=None) == from_ms(NOW_MS + 600_000).replace(tzinfo=None)


async def test_every_link_has_its_own_code(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")

    seen = {await new_link(accounts, user.id) for _ in range(5)}

    assert len(seen) == 5


async def test_a_new_link_replaces_the_users_previous_one(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    other = await accounts.add_user(username="otto")
    old = await new_link(accounts, user.id)
    theirs = await new_link(accounts, other.id)

    new = await new_link(accounts, user.id)

    assert sorted(doc["_id"] for doc in await codes(accounts)) == sorted(
        [sha256(new), sha256(theirs)]
    )
    assert await redeem(accounts, old, 901) == LinkResult(LinkOutcome.INVALID)
    assert (await redeem(accounts, new, 901)).outcome is LinkOutcome.LINKED


async def test_a_link_being_redeemed_is_not_replaced(accounts: AccountsEnv) -> None:
    # Another Telegram account is merging into this user right now: no second link meanwhile.
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    await accounts.db["link_codes"].update_one({}, {"$set": {"claimed_by": 77}})

    with pytest.raises(Conflict, match=r"^A link of this account is being used right now$"):
        await accounts.services.linking.create_link(user.id)  # type: ignore[arg-type]

    assert [doc["_id"] for doc in await codes(accounts)] == [sha256(code)]


async def test_a_linked_account_gets_no_link(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma", telegram_id=5)

    with pytest.raises(Conflict, match=r"^This account is already linked to a Telegram account$"):
        await accounts.services.linking.create_link(user.id)  # type: ignore[arg-type]
    assert await codes(accounts) == []


async def test_links_need_a_bot_and_its_username(
    models: Any, make_settings: Any, accounts_settings: Any
) -> None:
    without_bot = await make_accounts(models, make_settings())
    unnamed = await make_accounts(models, accounts_settings(telegram_bot_username=None))
    try:
        user = await without_bot.add_user(username="uma")
        with pytest.raises(
            NotConfigured, match=r"^Linking Telegram needs TELEGRAM_BOT_TOKEN on the server$"
        ):
            await without_bot.services.linking.create_link(user.id)  # type: ignore[arg-type]
        with pytest.raises(
            Unavailable, match=r"^The bot's username is not known yet; try again shortly$"
        ):
            await unnamed.services.linking.create_link(user.id)  # type: ignore[arg-type]
        # getMe's answer, once the bot runs, names it.
        unnamed.services.telegram.connect("named_by_getme_bot", unnamed.messenger)
        offer = await unnamed.services.linking.create_link(user.id)  # type: ignore[arg-type]
        assert offer.url.startswith("https://t.me/named_by_getme_bot?start=link_")
    finally:
        without_bot.services.passwords.close()
        unnamed.services.passwords.close()


# --- redeeming ------------------------------------------------------------------------------


async def test_a_link_binds_the_telegram_account_that_opens_it(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)

    result = await redeem(
        accounts, code, 901, first_name="Uma", last_name="T", username="uma_tg",
        language_code="ru",
    )  # fmt: skip

    assert result == LinkResult(LinkOutcome.LINKED, "uma")
    doc = await accounts.reload(user.id)
    assert doc is not None
    assert (doc["telegram_id"], doc["telegram_username"], doc["first_name"]) == (
        901, "uma_tg", "Uma"
    )  # fmt: skip
    assert (doc["last_name"], doc["language_code"]) == ("T", "ru")
    assert await codes(accounts) == []  # spent
    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)
    # The gate knows at once: the Bot and tma schemes act as this user for Telegram id 901.
    assert accounts.services.gate.known_telegram_user(901) == user.id


@pytest.mark.parametrize("code", ["", "x" * (MAX_CODE_LENGTH + 1), "\udcff", "link_abc"])
async def test_codes_that_cannot_be_links_are_invalid(accounts: AccountsEnv, code: str) -> None:
    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)


async def test_the_longest_payload_telegram_carries_is_a_code_and_no_longer(
    accounts: AccountsEnv,
) -> None:
    # A deep-link payload has at most 64 characters: "link_" and 59 of the code.
    uma = await accounts.add_user(username="uma")
    otto = await accounts.add_user(username="otto")
    longest = "y" * MAX_CODE_LENGTH
    assert MAX_CODE_LENGTH == 59
    for code, user in ((longest, uma), (longest + "y", otto)):  # both stored, both live
        await accounts.db["link_codes"].insert_one(
            {"_id": sha256(code), "user_id": user.id, "expires_ms": epoch_ms() + 60_000,
             "offered_to": 0, "claimed_by": 0, "claimed_until": 0}
        )  # fmt: skip

    assert await redeem(accounts, longest + "y", 901) == LinkResult(LinkOutcome.INVALID)
    assert (await accounts.reload(otto.id) or {})["telegram_id"] is None
    assert (await redeem(accounts, longest, 901)).outcome is LinkOutcome.LINKED


async def test_an_expired_link_is_invalid(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    await accounts.db["link_codes"].update_one({}, {"$set": {"expires_ms": epoch_ms()}})

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)
    assert (await accounts.reload(user.id) or {})["telegram_id"] is None


@pytest.mark.usefixtures("frozen")
async def test_the_claim_holds_a_lease_for_the_telegram_account(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    seen: list[dict[str, Any]] = []
    owner_move = accounts.owner.move_all

    async def look(from_id: Any, to_id: Any) -> None:  # called mid-merge: the claim is held
        seen.extend(await codes(accounts))
        await owner_move(from_id, to_id)

    accounts.owner.move_all = look  # type: ignore[method-assign]
    await accounts.add_user(telegram_id=901)  # its own account: merged, so owners are called

    assert (await redeem(accounts, code, 901)).outcome is LinkOutcome.MERGED

    [claimed] = seen
    assert (claimed["claimed_by"], claimed["claimed_until"]) == (901, NOW_MS + 30_000)
    assert LINK_CLAIM_LEASE == 30


async def claimed_link(env: AccountsEnv, by: int, lease_left_ms: int) -> tuple[Any, str]:
    user = await env.add_user(username="uma")
    code = await new_link(env, user.id)
    until = epoch_ms() + lease_left_ms
    await env.db["link_codes"].update_one({}, {"$set": {"claimed_by": by, "claimed_until": until}})
    return user, code


async def test_a_link_claimed_by_another_telegram_account_is_invalid_for_good(
    accounts: AccountsEnv,
) -> None:
    _, code = await claimed_link(accounts, by=902, lease_left_ms=60_000)
    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)

    await accounts.db["link_codes"].update_one({}, {"$set": {"claimed_until": 0}})
    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)  # lease lapsed
    assert len(await codes(accounts)) == 1  # not spent by the loser


async def test_the_same_telegram_account_is_busy_while_its_claim_holds(
    accounts: AccountsEnv,
) -> None:
    user, code = await claimed_link(accounts, by=901, lease_left_ms=60_000)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.BUSY)  # a double tap
    assert (await accounts.reload(user.id) or {})["telegram_id"] is None
    assert len(await codes(accounts)) == 1


async def test_the_same_telegram_account_resumes_once_its_lease_lapsed(
    accounts: AccountsEnv,
) -> None:
    user, code = await claimed_link(accounts, by=901, lease_left_ms=-1)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.LINKED, "uma")
    assert (await accounts.reload(user.id) or {})["telegram_id"] == 901


async def test_an_expired_claimed_link_does_not_resume(accounts: AccountsEnv) -> None:
    _, code = await claimed_link(accounts, by=901, lease_left_ms=-1)
    await accounts.db["link_codes"].update_one({}, {"$set": {"expires_ms": epoch_ms() - 1}})

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)


# --- outcomes -------------------------------------------------------------------------------


async def test_a_link_of_a_deleted_user_is_invalid_and_spent(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    await accounts.db["users"].delete_one({"_id": user.id})

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)
    assert await codes(accounts) == []
    assert await accounts.db["users"].count_documents({}) == 0


async def test_a_deactivated_target_is_refused(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    await accounts.db["users"].update_one({"_id": user.id}, {"$set": {"active": False}})

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.DEACTIVATED)
    assert (await accounts.reload(user.id) or {})["telegram_id"] is None
    assert await codes(accounts) == []


async def test_opening_ones_own_link_again_says_so(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    await accounts.db["users"].update_one({"_id": user.id}, {"$set": {"telegram_id": 901}})

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.ALREADY_LINKED, "uma")
    assert await codes(accounts) == []


async def test_an_account_linked_to_another_telegram_account_stays_so(
    accounts: AccountsEnv,
) -> None:
    user = await accounts.add_user(username="uma")
    code = await new_link(accounts, user.id)
    await accounts.db["users"].update_one({"_id": user.id}, {"$set": {"telegram_id": 902}})

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.LINKED_ELSEWHERE, "uma")
    assert (await accounts.reload(user.id) or {})["telegram_id"] == 902


async def test_no_merge_when_both_accounts_have_a_password(accounts: AccountsEnv) -> None:
    target = await accounts.add_user(username="uma", password_hash=HASH)
    source = await accounts.add_user(username="tg_uma", password_hash=HASH, telegram_id=901)
    await add_notes(accounts.db, str(source.id), "mine")
    code = await new_link(accounts, target.id)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.BOTH_PASSWORDS, "uma")
    assert accounts.owner.moves == []
    assert await notes_of(accounts.db, str(source.id)) == ["mine"]
    assert await accounts.db["users"].count_documents({}) == 2
    assert await codes(accounts) == []


@pytest.mark.parametrize(
    ("target_password", "source_password"), [(HASH, None), (None, HASH), (None, None)]
)
async def test_one_password_or_none_is_merged(
    accounts: AccountsEnv, target_password: str | None, source_password: str | None
) -> None:
    target = await accounts.add_user(username="uma", password_hash=target_password)
    source = await accounts.add_user(telegram_id=901, password_hash=source_password)
    code = await new_link(accounts, target.id)

    assert (await redeem(accounts, code, 901)).outcome is LinkOutcome.MERGED
    doc = await accounts.reload(target.id)
    assert doc is not None
    assert doc["password_hash"] == (target_password or source_password)
    assert await accounts.reload(source.id) is None


async def test_a_deactivated_telegram_account_is_not_merged(accounts: AccountsEnv) -> None:
    target = await accounts.add_user(username="uma")
    source = await accounts.add_user(telegram_id=901, active=False)
    code = await new_link(accounts, target.id)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.DEACTIVATED)
    assert accounts.owner.moves == []
    assert await accounts.reload(source.id) is not None
    assert (await accounts.reload(target.id) or {})["telegram_id"] is None


async def test_a_merge_moves_the_data_and_missing_preferences_then_removes_the_source(
    accounts: AccountsEnv,
) -> None:
    target = await accounts.add_user(username="uma", timezone="Europe/Berlin")
    source = await accounts.add_user(
        telegram_id=901, username="tg_name", password_hash=HASH, timezone="Asia/Tokyo",
        language="ru",
    )  # fmt: skip
    await add_notes(accounts.db, str(source.id), "from telegram")
    await add_notes(accounts.db, str(target.id), "from web")
    await accounts.db["refresh_sessions"].insert_one(
        {"user_id": source.id, "family_id": "src", "token_hash": "h", "revoked": False}
    )
    access, gate = accounts.services.access, accounts.services.gate
    # Its tokens, with a session and without one (only the user's state decides then).
    tokens = [access.verify_claims(access.issue(str(source.id), sid)) for sid in ("src", None)]
    for claims in tokens:
        assert await gate.admit_token(claims) == source.id  # read, and cached as alive
    code = await new_link(accounts, target.id)

    result = await redeem(accounts, code, 901, first_name="Tess")

    assert result == LinkResult(LinkOutcome.MERGED, "uma")
    assert accounts.owner.moves == [(source.id, target.id)]
    assert await notes_of(accounts.db, str(target.id)) == ["from telegram", "from web"]
    doc = await accounts.reload(target.id)
    assert doc is not None
    # The target's own choices stay; what it lacks comes from the merged account.
    assert (doc["username"], doc["timezone"]) == ("uma", "Europe/Berlin")
    assert (doc["password_hash"], doc["language"]) == (HASH, "ru")
    assert (doc["telegram_id"], doc["first_name"]) == (901, "Tess")
    assert await accounts.reload(source.id) is None
    assert await accounts.db["refresh_sessions"].count_documents({}) == 0
    # The merged account's tokens stop at once in this process.
    for claims in tokens:
        with pytest.raises(InvalidToken):
            await gate.admit_token(claims)


async def test_a_username_comes_from_the_merged_account_when_the_target_has_none(
    accounts: AccountsEnv,
) -> None:
    target = await accounts.add_user(telegram_id=None)  # e.g. made by an operator's import
    await accounts.add_user(telegram_id=901, username="Tg_Name", username_normalized="tg_name")
    code = await new_link(accounts, target.id)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.MERGED, "Tg_Name")
    doc = await accounts.reload(target.id)
    assert doc is not None
    assert (doc["username"], doc["username_normalized"]) == ("Tg_Name", "tg_name")


async def test_a_refused_link_is_spent_too(accounts: AccountsEnv) -> None:
    target = await accounts.add_user(username="uma", password_hash=HASH)
    await accounts.add_user(telegram_id=901, password_hash=HASH)
    code = await new_link(accounts, target.id)
    await redeem(accounts, code, 901)

    await accounts.db["users"].delete_one({"telegram_id": 901})
    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)


async def test_the_merge_step_alone_forgets_the_merged_telegram_identity(
    accounts: AccountsEnv,
) -> None:
    # The link write after a merge can still fail (the accounts kept changing): by then the
    # Telegram id must no longer map to the deleted account in this process.
    target = await accounts.add_user(username="uma")
    source = await accounts.add_user(telegram_id=901)
    gate, users = accounts.services.gate, accounts.services.users
    admitted = await gate.admit_telegram_user(901, lambda: users.user_id_by_telegram_id(901))
    assert admitted == source.id

    await accounts.services.linking._merge(source, target)

    assert gate.known_telegram_user(901) is None
    assert await accounts.reload(source.id) is None


# --- races, staged --------------------------------------------------------------------------


class Meanwhile:
    """Users.find_by_telegram_id, after which another process acts (`then`), for the first
    `times` calls: the moment between linking's look and its write."""

    def __init__(self, env: AccountsEnv, then: Any, times: int = 1) -> None:
        self.real = env.services.users.find_by_telegram_id
        self.then, self.times, self.calls = then, times, 0

    async def __call__(self, telegram_id: int) -> Any:
        found = await self.real(telegram_id)
        self.calls += 1
        if self.calls <= self.times:
            await self.then(telegram_id)
        return found


async def test_an_account_made_for_the_telegram_id_meanwhile_is_merged_too(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its /start made an account between linking's look and its write (a duplicate key).
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)

    async def start(telegram_id: int) -> None:
        await accounts.db["users"].insert_one({"telegram_id": telegram_id, "username": None})

    meanwhile = Meanwhile(accounts, start)
    monkeypatch.setattr(accounts.services.users, "find_by_telegram_id", meanwhile)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.MERGED, "uma")
    assert meanwhile.calls == 2
    assert (await accounts.reload(target.id) or {})["telegram_id"] == 901
    assert await accounts.db["users"].count_documents({}) == 1


async def test_a_target_linked_elsewhere_meanwhile_is_not_overwritten(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)

    async def linked_elsewhere(telegram_id: int) -> None:
        await accounts.db["users"].update_one({"_id": target.id}, {"$set": {"telegram_id": 555}})

    meanwhile = Meanwhile(accounts, linked_elsewhere)
    monkeypatch.setattr(accounts.services.users, "find_by_telegram_id", meanwhile)

    assert await redeem(accounts, code, 901) == LinkResult(LinkOutcome.LINKED_ELSEWHERE, "uma")
    assert (await accounts.reload(target.id) or {})["telegram_id"] == 555


async def test_accounts_that_keep_changing_give_up_after_three_looks(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)

    async def start_again(telegram_id: int) -> None:  # an account for it, every time
        await accounts.db["users"].delete_many({"telegram_id": telegram_id})
        await accounts.db["users"].insert_one({"telegram_id": telegram_id, "username": None})

    meanwhile = Meanwhile(accounts, start_again, times=4)
    monkeypatch.setattr(accounts.services.users, "find_by_telegram_id", meanwhile)

    with pytest.raises(Conflict, match=r"^The accounts kept changing while linking; try again$"):
        await redeem(accounts, code, 901)
    assert meanwhile.calls == 3
    assert (await accounts.reload(target.id) or {})["telegram_id"] is None


# --- the audit trail ------------------------------------------------------------------------


async def test_links_and_merges_are_logged_by_user_id(
    accounts: AccountsEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "server.services.accounts.linking")
    uma = await accounts.add_user(username="uma")
    otto = await accounts.add_user(username="otto")
    source = await accounts.add_user(telegram_id=902)

    await redeem(accounts, await new_link(accounts, uma.id), 901)
    await redeem(accounts, await new_link(accounts, otto.id), 902)

    linking_log = "server.services.accounts.linking"
    assert (
        [r.getMessage() for r in caplog.records if r.name == linking_log]
        == [r.getMessage() for r in caplog.records if r.name == "server.services.accounts.linking"]
        == [
            f"telegram account linked to user {uma.id}",
            f"user {source.id} merged into user {otto.id}",
            f"telegram account linked to user {otto.id} (merged)",
        ]
    )


# --- the confirmation: preview, confirm, cancel (issue 22, item 3) --------------------------


def preview_of(env: AccountsEnv, code: str, telegram_id: int) -> Any:
    return env.services.linking.preview(code, TelegramProfile(telegram_id))


async def test_the_question_names_the_account_and_what_moves_and_links_nothing(
    accounts: AccountsEnv,
) -> None:
    target = await accounts.add_user(username="mallory")
    source = await accounts.add_user(telegram_id=901)
    await add_notes(accounts.db, str(source.id), "a", "b", "c")
    code = await new_link(accounts, target.id)

    found = await preview_of(accounts, code, 901)

    assert found == LinkPreview(username="mallory", merge=True, lists=0, tasks=3)
    assert accounts.owner.moves == []
    assert (await accounts.reload(target.id) or {})["telegram_id"] is None
    assert await notes_of(accounts.db, str(source.id)) == ["a", "b", "c"]
    [doc] = await codes(accounts)
    assert (doc["offered_to"], doc["claimed_by"]) == (901, 0)  # kept for this Telegram account
    # Opening it again shows the same question; nothing moves before Confirm.
    assert await preview_of(accounts, code, 901) == found
    assert (await accounts.services.linking.redeem(code, TelegramProfile(901))).outcome is (
        LinkOutcome.MERGED
    )
    assert await notes_of(accounts.db, str(target.id)) == ["a", "b", "c"]


async def test_without_an_account_of_its_own_nothing_moves(accounts: AccountsEnv) -> None:
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)

    assert await preview_of(accounts, code, 901) == LinkPreview("uma", False, 0, 0)


async def test_confirm_without_the_question_links_nothing(accounts: AccountsEnv) -> None:
    """The old one-step link: `/start link_<code>` alone must not bind (the attack)."""
    target = await accounts.add_user(username="mallory")
    await accounts.add_user(telegram_id=901)
    code = await new_link(accounts, target.id)

    result = await accounts.services.linking.redeem(code, TelegramProfile(901))

    assert result == LinkResult(LinkOutcome.INVALID)
    assert accounts.owner.moves == []
    assert (await accounts.reload(target.id) or {})["telegram_id"] is None


async def test_only_the_telegram_account_shown_the_question_can_answer_it(
    accounts: AccountsEnv,
) -> None:
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)
    assert isinstance(await preview_of(accounts, code, 901), LinkPreview)
    linking = accounts.services.linking

    # Another Telegram account: cannot see, confirm or cancel it; the code stays as it was.
    assert await preview_of(accounts, code, 902) == LinkResult(LinkOutcome.INVALID)
    assert await linking.redeem(code, TelegramProfile(902)) == LinkResult(LinkOutcome.INVALID)
    assert await linking.cancel(code, TelegramProfile(902)) is False
    [doc] = await codes(accounts)
    assert (doc["offered_to"], doc["claimed_by"]) == (901, 0)
    assert (await accounts.reload(target.id) or {})["telegram_id"] is None

    assert (await linking.redeem(code, TelegramProfile(901))).outcome is LinkOutcome.LINKED
    assert (await accounts.reload(target.id) or {})["telegram_id"] == 901


async def test_cancel_spends_the_link(accounts: AccountsEnv) -> None:
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)
    await preview_of(accounts, code, 901)
    linking = accounts.services.linking

    assert await linking.cancel(code, TelegramProfile(901)) is True

    assert await codes(accounts) == []
    assert await linking.redeem(code, TelegramProfile(901)) == LinkResult(LinkOutcome.INVALID)
    assert await preview_of(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)
    assert await linking.cancel(code, TelegramProfile(901)) is False
    assert (await accounts.reload(target.id) or {})["telegram_id"] is None


async def test_a_link_that_cannot_work_is_refused_before_the_question(
    accounts: AccountsEnv,
) -> None:
    target = await accounts.add_user(username="uma", password_hash=HASH)
    await accounts.add_user(telegram_id=901, password_hash=HASH)
    code = await new_link(accounts, target.id)

    assert await preview_of(accounts, code, 901) == LinkResult(LinkOutcome.BOTH_PASSWORDS, "uma")
    assert await codes(accounts) == []


@pytest.mark.parametrize("code", ["", "x" * (MAX_CODE_LENGTH + 1), "unknown"])
async def test_a_question_for_no_link_is_refused(accounts: AccountsEnv, code: str) -> None:
    assert await preview_of(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)
    assert await accounts.services.linking.cancel(code, TelegramProfile(901)) is False


# --- unlinking ------------------------------------------------------------------------------


async def test_unlinking_keeps_the_account_and_frees_the_telegram_account(
    accounts: AccountsEnv,
) -> None:
    user = await accounts.add_user(
        username="uma", password_hash=HASH, telegram_id=901, telegram_username="uma_tg",
        first_name="Uma",
    )  # fmt: skip
    await add_notes(accounts.db, str(user.id), "mine")
    users, gate = accounts.services.users, accounts.services.gate
    assert await users.user_id_by_telegram_id(901) == user.id  # cached as this user's
    assert await gate.admit_telegram_user(901, lambda: users.user_id_by_telegram_id(901)) == (
        user.id
    )

    updated = await accounts.services.linking.unlink(user.id)  # type: ignore[arg-type]

    assert (updated.telegram_id, updated.telegram_username) == (None, None)
    doc = await accounts.reload(user.id)
    assert doc is not None
    assert (doc["telegram_id"], doc["telegram_username"]) == (None, None)
    assert (doc["username"], doc["password_hash"], doc["first_name"]) == ("uma", HASH, "Uma")
    assert await notes_of(accounts.db, str(user.id)) == ["mine"]
    # The Telegram account is a stranger now: it gets a new, empty account of its own.
    fresh = await gate.admit_telegram_user(901, lambda: users.user_id_by_telegram_id(901))
    assert fresh != user.id
    assert (await accounts.reload(fresh) or {})["telegram_id"] == 901
    assert await notes_of(accounts.db, str(fresh)) == []


async def test_an_account_without_a_password_cannot_be_unlinked(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma", telegram_id=901)

    with pytest.raises(Conflict, match="password"):
        await accounts.services.linking.unlink(user.id)  # type: ignore[arg-type]
    assert (await accounts.reload(user.id) or {})["telegram_id"] == 901


async def test_an_account_without_telegram_has_nothing_to_unlink(accounts: AccountsEnv) -> None:
    user = await accounts.add_user(username="uma", password_hash=HASH)

    with pytest.raises(Conflict, match="not linked"):
        await accounts.services.linking.unlink(user.id)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("target_gone", LinkResult(LinkOutcome.INVALID)),
        ("target_deactivated", LinkResult(LinkOutcome.DEACTIVATED)),
        ("source_deactivated", LinkResult(LinkOutcome.DEACTIVATED)),
        ("already_linked", LinkResult(LinkOutcome.ALREADY_LINKED, "uma")),
        ("linked_elsewhere", LinkResult(LinkOutcome.LINKED_ELSEWHERE, "uma")),
        ("both_passwords", LinkResult(LinkOutcome.BOTH_PASSWORDS, "uma")),
    ],
)
async def test_each_refusal_is_told_before_the_question_and_spends_the_link(
    accounts: AccountsEnv, case: str, expected: LinkResult
) -> None:
    target = await accounts.add_user(username="uma", password_hash=HASH)
    code = await new_link(accounts, target.id)
    users = accounts.db["users"]
    match case:
        case "target_gone":
            await users.delete_one({"_id": target.id})
        case "target_deactivated":
            await users.update_one({"_id": target.id}, {"$set": {"active": False}})
        case "source_deactivated":
            await accounts.add_user(telegram_id=901, active=False)
        case "already_linked":
            await users.update_one({"_id": target.id}, {"$set": {"telegram_id": 901}})
        case "linked_elsewhere":
            await users.update_one({"_id": target.id}, {"$set": {"telegram_id": 902}})
        case "both_passwords":
            await accounts.add_user(telegram_id=901, password_hash=HASH)

    assert await preview_of(accounts, code, 901) == expected
    assert await codes(accounts) == []
    assert accounts.owner.moves == []


async def test_an_expired_code_shows_no_question(accounts: AccountsEnv) -> None:
    target = await accounts.add_user(username="uma")
    code = await new_link(accounts, target.id)
    await accounts.db["link_codes"].update_one({}, {"$set": {"expires_ms": epoch_ms() - 1}})

    assert await preview_of(accounts, code, 901) == LinkResult(LinkOutcome.INVALID)
    [doc] = await codes(accounts)
    assert doc["offered_to"] == 0

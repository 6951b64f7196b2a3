"""The AccessGate's decisions and its cache, without a database: the gate's three database
reads are replaced by reads of dicts (`MemoryGate`); everything else is the real gate. The
reads themselves, on a real database, are tests/integration/test_access_gate.py."""

from __future__ import annotations

import asyncio

import pytest
from beanie import PydanticObjectId

from models import User
from server.services.accounts.access_gate import (
    AccessGate,
    SessionState,
    TelegramState,
    UserState,
    _Cache,
)
from server.services.accounts.tokens import AccessClaims
from server.services.common.errors import AccountDeactivated, InvalidToken
from tests.clock import ManualClock

ALICE = PydanticObjectId("6650c0ffee0123456789aaaa")
BOB = PydanticObjectId("6650c0ffee0123456789bbbb")
TTL = 5.0
T0 = 1000.0
ISSUED = 1_700_000_000_000  # epoch ms, when the tokens below were issued


class Users:
    """Stands in for Users: records whom the gate told it to forget."""

    def __init__(self) -> None:
        self.forgotten: list[PydanticObjectId] = []

    def forget(self, user_id: PydanticObjectId) -> None:
        self.forgotten.append(user_id)


class MemoryGate(AccessGate):
    """The real gate over dicts; records every read. While `hold` is set, reads wait for it
    (to stage concurrent requests)."""

    def __init__(self, clock: ManualClock, max_entries: int = 100) -> None:
        self.users_service = Users()
        super().__init__(self.users_service, ttl=TTL, clock=clock, max_entries=max_entries)  # type: ignore[arg-type]
        self.now = clock
        # user id -> (active, tokens valid after, telegram id)
        self.user_rows: dict[str, tuple[bool, int, int | None]] = {}
        self.session_rows: dict[str, tuple[bool, str]] = {}  # family id -> (alive, user id)
        self.telegram_rows: dict[int, bool] = {}  # telegram id -> active
        self.reads: list[object] = []
        self.hold: asyncio.Event | None = None

    async def _wait(self, read: object) -> None:
        self.reads.append(read)
        if self.hold is not None:
            await self.hold.wait()

    async def _fetch_user(self, key: str) -> UserState:
        fresh_until = self.now() + self.ttl
        await self._wait(key)
        row = self.user_rows.get(key)
        if row is None:
            return UserState(None, False, 0, None, fresh_until)
        return UserState(PydanticObjectId(key), *row, fresh_until)

    async def _fetch_session(self, family_id: str) -> SessionState:
        fresh_until = self.now() + self.ttl
        await self._wait(family_id)
        alive, subject = self.session_rows.get(family_id, (False, ""))
        return SessionState(alive, subject, fresh_until)

    async def _fetch_tg(self, telegram_id: int) -> TelegramState:
        fresh_until = self.now() + self.ttl
        await self._wait(telegram_id)
        return TelegramState(self.telegram_rows.get(telegram_id, True), fresh_until)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def gate(clock: ManualClock) -> MemoryGate:
    gate = MemoryGate(clock)
    gate.user_rows[str(ALICE)] = (True, ISSUED - 1, 42)
    gate.session_rows["fam-a"] = (True, str(ALICE))
    return gate


def user(**fields: object) -> User:
    """A user as the gate sees it (no database: beanie's __init__ would need one)."""
    return User.model_construct(**fields)


def token(
    subject: PydanticObjectId | str = ALICE, issued: int = ISSUED, sid: str | None = None
) -> AccessClaims:
    return AccessClaims(str(subject), issued, sid)


# --- access tokens --------------------------------------------------------------------------


async def test_a_token_of_an_active_user_is_admitted_as_its_user(gate: MemoryGate) -> None:
    user_id = await gate.admit_token(token())

    assert user_id == ALICE
    assert type(user_id) is PydanticObjectId
    assert gate.reads == [str(ALICE)]


@pytest.mark.parametrize("subject", [BOB, "not-an-object-id"])
async def test_a_token_of_no_such_user_is_revoked(gate: MemoryGate, subject: object) -> None:
    with pytest.raises(InvalidToken):
        await gate.admit_token(token(str(subject)))


async def test_a_token_of_a_deactivated_user_is_a_deactivation(gate: MemoryGate) -> None:
    gate.user_rows[str(ALICE)] = (False, 0, 42)

    with pytest.raises(AccountDeactivated):
        await gate.admit_token(token())


async def test_tokens_issued_before_the_valid_after_instant_are_revoked(gate: MemoryGate) -> None:
    gate.user_rows[str(ALICE)] = (True, ISSUED, 42)

    assert await gate.admit_token(token(issued=ISSUED)) == ALICE  # at the instant: valid
    with pytest.raises(InvalidToken):
        await gate.admit_token(token(issued=ISSUED - 1))


async def test_a_token_of_a_live_session_of_its_user_is_admitted(gate: MemoryGate) -> None:
    assert await gate.admit_token(token(sid="fam-a")) == ALICE
    assert gate.reads == [str(ALICE), "fam-a"]


@pytest.mark.parametrize(
    "session",
    [(False, str(ALICE)), (True, str(BOB)), None],
    ids=["ended", "another-users", "gone"],
)
async def test_a_token_of_an_ended_or_foreign_session_is_revoked(
    gate: MemoryGate, session: tuple[bool, str] | None
) -> None:
    if session is None:
        del gate.session_rows["fam-a"]
    else:
        gate.session_rows["fam-a"] = session

    with pytest.raises(InvalidToken):
        await gate.admit_token(token(sid="fam-a"))


async def test_a_user_is_read_once_per_bound(gate: MemoryGate, clock: ManualClock) -> None:
    await gate.admit_token(token(sid="fam-a"))
    gate.user_rows[str(ALICE)] = (True, ISSUED + 1, 42)  # revoked by another process
    gate.session_rows["fam-a"] = (False, str(ALICE))

    clock.now = T0 + TTL - 0.001
    assert await gate.admit_token(token(sid="fam-a")) == ALICE  # within the bound: cached
    assert gate.reads == [str(ALICE), "fam-a"]

    clock.now = T0 + TTL  # the bound: an entry is never used at or after it
    with pytest.raises(InvalidToken):
        await gate.admit_token(token(sid="fam-a"))
    assert gate.reads == [str(ALICE), "fam-a", str(ALICE)]


async def test_a_session_is_read_once_per_bound(gate: MemoryGate, clock: ManualClock) -> None:
    await gate.admit_token(token(sid="fam-a"))
    gate.session_rows["fam-a"] = (False, str(ALICE))  # ended by another process
    gate.user_rows[str(ALICE)] = (True, 0, 42)

    clock.now = T0 + TTL - 0.001
    await gate.admit_token(token(sid="fam-a"))
    clock.now = T0 + TTL
    gate.note_user(user(id=ALICE, telegram_id=42))  # the user fresh: only the session is read
    with pytest.raises(InvalidToken):
        await gate.admit_token(token(sid="fam-a"))

    assert gate.reads == [str(ALICE), "fam-a", "fam-a"]


# --- Telegram identities --------------------------------------------------------------------


def resolver(*answers: PydanticObjectId) -> tuple[list[PydanticObjectId], object]:
    """A `resolve` callback that gives `answers` in turn; returns (given, callback)."""
    given: list[PydanticObjectId] = []

    async def resolve() -> PydanticObjectId:
        given.append(answers[len(given)])
        return given[-1]

    return given, resolve


async def test_a_telegram_user_is_resolved_checked_and_then_known(
    gate: MemoryGate, clock: ManualClock
) -> None:
    given, resolve = resolver(ALICE)

    assert gate.known_telegram_user(42) is None
    user_id = await gate.admit_telegram_user(42, resolve)  # type: ignore[arg-type]

    assert user_id is given[0]
    # Known now: the very object resolved (callers compare with `is`), no read, no resolve.
    assert gate.known_telegram_user(42) is given[0]
    assert await gate.admit_telegram_user(42, resolve) is given[0]  # type: ignore[arg-type]
    assert (len(given), gate.reads) == (1, [str(ALICE)])


async def test_a_known_telegram_user_is_forgotten_after_the_bound(
    gate: MemoryGate, clock: ManualClock
) -> None:
    _, resolve = resolver(ALICE)
    await gate.admit_telegram_user(42, resolve)  # type: ignore[arg-type]

    clock.now = T0 + TTL - 0.001
    assert gate.known_telegram_user(42) == ALICE
    clock.now = T0 + TTL
    assert gate.known_telegram_user(42) is None


async def test_a_known_deactivated_telegram_user_is_refused(gate: MemoryGate) -> None:
    gate.user_rows[str(ALICE)] = (False, 0, 42)
    _, resolve = resolver(ALICE, ALICE)

    with pytest.raises(AccountDeactivated):
        await gate.admit_telegram_user(42, resolve)  # type: ignore[arg-type]
    with pytest.raises(AccountDeactivated):  # remembered: refused without a read
        gate.known_telegram_user(42)
    assert gate.reads == [str(ALICE)]


async def test_a_telegram_id_merged_into_another_user_is_resolved_again(
    gate: MemoryGate,
) -> None:
    # Users' cached mapping still names the merged-away account (gone, or without this id).
    gate.user_rows[str(BOB)] = (True, 0, 42)
    del gate.user_rows[str(ALICE)]
    given, resolve = resolver(ALICE, BOB)

    assert await gate.admit_telegram_user(42, resolve) == BOB  # type: ignore[arg-type]

    assert given == [ALICE, BOB]
    assert gate.users_service.forgotten == [ALICE]
    assert gate.known_telegram_user(42) == BOB


async def test_a_user_who_no_longer_has_the_telegram_id_is_resolved_again(
    gate: MemoryGate,
) -> None:
    gate.user_rows[str(ALICE)] = (True, 0, 99)  # linked to another Telegram account since
    gate.user_rows[str(BOB)] = (True, 0, 42)
    _, resolve = resolver(ALICE, BOB)

    assert await gate.admit_telegram_user(42, resolve) == BOB  # type: ignore[arg-type]
    assert gate.users_service.forgotten == [ALICE]


async def test_a_user_gone_again_between_two_lookups_is_refused(gate: MemoryGate) -> None:
    del gate.user_rows[str(ALICE)]
    _, resolve = resolver(ALICE, BOB)

    with pytest.raises(InvalidToken):
        await gate.admit_telegram_user(42, resolve)  # type: ignore[arg-type]
    assert gate.known_telegram_user(42) is None


async def test_a_resolved_user_with_another_telegram_id_is_admitted_but_not_remembered(
    gate: MemoryGate,
) -> None:
    # Still another id after resolving again (changed meanwhile): this request goes through
    # as that user, but the mapping is not cached.
    gate.user_rows[str(ALICE)] = (True, 0, 99)
    _, resolve = resolver(ALICE, ALICE)

    assert await gate.admit_telegram_user(42, resolve) == ALICE  # type: ignore[arg-type]
    assert gate.known_telegram_user(42) is None


async def test_user_state_is_cached_within_the_bound(gate: MemoryGate, clock: ManualClock) -> None:
    first = await gate.user_state(ALICE)
    clock.now = T0 + TTL - 0.001
    assert await gate.user_state(ALICE) is first
    clock.now = T0 + TTL
    assert await gate.user_state(ALICE) == first._replace(fresh_until=T0 + 2 * TTL)
    assert gate.reads == [str(ALICE), str(ALICE)]


async def test_telegram_account_active_reads_once_per_bound(
    gate: MemoryGate, clock: ManualClock
) -> None:
    gate.telegram_rows[7] = False

    assert await gate.telegram_account_active(7) is False
    assert await gate.telegram_account_active(8) is True  # no account: nothing to refuse
    gate.telegram_rows[7] = True
    clock.now = T0 + TTL - 0.001
    assert await gate.telegram_account_active(7) is False
    clock.now = T0 + TTL
    assert await gate.telegram_account_active(7) is True
    assert gate.reads == [7, 8, 7]


# --- local writes ---------------------------------------------------------------------------


async def test_a_user_written_here_is_seen_at_once(gate: MemoryGate, clock: ManualClock) -> None:
    await gate.admit_token(token())
    clock.now = T0 + 1

    gate.note_user(user(id=ALICE, telegram_id=42, active=False, tokens_valid_after=ISSUED))

    with pytest.raises(AccountDeactivated):
        await gate.admit_token(token())
    with pytest.raises(AccountDeactivated):
        gate.known_telegram_user(42)
    assert await gate.telegram_account_active(42) is False
    assert gate.reads == [str(ALICE)]
    # Fresh for a whole bound from the write.
    clock.now = T0 + 1 + TTL - 0.001
    with pytest.raises(AccountDeactivated):
        await gate.admit_token(token())
    assert gate.reads == [str(ALICE)]


async def test_what_was_written_here_is_the_users_state(
    gate: MemoryGate, clock: ManualClock
) -> None:
    clock.now = T0 + 1
    gate.note_user(user(id=ALICE, telegram_id=43, active=True, tokens_valid_after=9))

    assert await gate.user_state(ALICE) == (ALICE, True, 9, 43, T0 + 1 + TTL)
    assert gate.reads == []


async def test_a_new_valid_after_instant_written_here_revokes_at_once(gate: MemoryGate) -> None:
    await gate.admit_token(token())

    gate.note_user(user(id=ALICE, telegram_id=42, tokens_valid_after=ISSUED + 1))

    with pytest.raises(InvalidToken):
        await gate.admit_token(token())


async def test_a_user_without_telegram_written_here_leaves_telegram_alone(
    gate: MemoryGate,
) -> None:
    gate.note_user(user(id=ALICE, telegram_id=None, active=False))

    assert gate.known_telegram_user(42) is None
    assert await gate.telegram_account_active(42) is True
    assert gate.reads == [42]


async def test_a_user_removed_here_is_gone_at_once(gate: MemoryGate) -> None:
    _, resolve = resolver(ALICE)
    await gate.admit_telegram_user(42, resolve)  # type: ignore[arg-type]
    await gate.telegram_account_active(42)

    gate.note_user_gone(ALICE, 42)

    with pytest.raises(InvalidToken):
        await gate.admit_token(token())
    assert gate.known_telegram_user(42) is None
    assert gate.users_service.forgotten == [ALICE]
    # No user at all: inactive, nothing valid (whoever asks, whatever they check first).
    assert await gate.user_state(ALICE) == (None, False, 0, None, T0 + TTL)
    reads = len(gate.reads)
    await gate.telegram_account_active(42)  # read again
    assert len(gate.reads) == reads + 1


async def test_a_user_removed_here_beats_a_read_in_flight(gate: MemoryGate) -> None:
    gate.hold = asyncio.Event()
    loading = asyncio.ensure_future(gate.telegram_account_active(42))
    await asyncio.sleep(0)

    gate.note_user_gone(ALICE, 42)
    gate.hold.set()
    await loading
    gate.hold = None

    await gate.telegram_account_active(42)
    assert gate.reads == [42, 42]  # the read in flight was not stored


async def test_a_user_without_telegram_removed_here(gate: MemoryGate) -> None:
    gate.note_user_gone(ALICE, None)

    with pytest.raises(InvalidToken):
        await gate.admit_token(token())
    assert gate.reads == []


async def test_sessions_ended_here_end_their_tokens_at_once(gate: MemoryGate) -> None:
    gate.session_rows["fam-b"] = (True, str(ALICE))
    assert await gate.admit_token(token(sid="fam-a")) == ALICE

    gate.note_sessions_ended(["fam-a", "fam-b"])

    for sid in ("fam-a", "fam-b"):
        with pytest.raises(InvalidToken):
            await gate.admit_token(token(sid=sid))
    assert gate.reads == [str(ALICE), "fam-a"]


async def test_ended_sessions_stay_ended_for_a_bound(gate: MemoryGate, clock: ManualClock) -> None:
    gate.note_sessions_ended(["fam-a"])
    clock.now = T0 + TTL - 0.001
    with pytest.raises(InvalidToken):
        await gate.admit_token(token(sid="fam-a"))
    clock.now = T0 + TTL
    assert await gate.admit_token(token(sid="fam-a")) == ALICE  # read again: alive there


# --- the cache ------------------------------------------------------------------------------


async def test_concurrent_misses_share_one_read(gate: MemoryGate) -> None:
    gate.hold = asyncio.Event()
    requests = [asyncio.ensure_future(gate.admit_token(token())) for _ in range(5)]
    await asyncio.sleep(0)
    gate.hold.set()

    assert await asyncio.gather(*requests) == [ALICE] * 5
    assert gate.reads == [str(ALICE)]


async def test_one_cancelled_request_does_not_cancel_the_shared_read(gate: MemoryGate) -> None:
    gate.hold = asyncio.Event()
    first = asyncio.ensure_future(gate.admit_token(token()))
    second = asyncio.ensure_future(gate.admit_token(token()))
    await asyncio.sleep(0)
    first.cancel()
    gate.hold.set()

    assert await second == ALICE
    assert first.cancelled()
    await gate.admit_token(token())
    assert gate.reads == [str(ALICE)]  # stored too


async def test_a_failed_read_is_not_stored() -> None:
    failing = True

    async def fetch() -> int:
        if failing:
            raise ConnectionError("database down")
        return 1

    cache: _Cache[str, int] = _Cache(10)
    with pytest.raises(ConnectionError):
        await cache.load("k", fetch)
    assert ("k" in cache, cache.loading) == (False, {})
    failing = False
    assert await cache.load("k", fetch) == 1
    assert cache == {"k": 1}


async def test_a_cancelled_read_is_not_stored() -> None:
    started = asyncio.Event()

    async def fetch() -> int:
        started.set()
        await asyncio.Event().wait()
        return 1

    errors: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        cache: _Cache[str, int] = _Cache(10)
        loading = asyncio.ensure_future(cache.load("k", fetch))
        await started.wait()
        cache.loading["k"].cancel()
        with pytest.raises(asyncio.CancelledError):
            await loading
        await asyncio.sleep(0)  # the done callbacks have run
    finally:
        loop.set_exception_handler(None)
    assert ("k" in cache, cache.loading) == (False, {})
    assert errors == []  # the cancelled read was not asked for its exception


async def test_a_read_overtaken_by_a_local_write_is_not_stored() -> None:
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "read"

    cache: _Cache[str, str] = _Cache(10)
    loading = asyncio.ensure_future(cache.load("k", fetch))
    await asyncio.sleep(0)
    cache.put("k", "written")
    release.set()

    assert await loading == "read"  # the request that asked gets what it read
    assert cache == {"k": "written"}
    assert cache.loading == {}


def test_a_full_cache_is_emptied_for_a_new_key_only() -> None:
    cache: _Cache[int, str] = _Cache(3)
    for key in range(3):
        cache.put(key, "v")

    cache.put(2, "again")  # an existing key: nothing dropped
    assert cache == {0: "v", 1: "v", 2: "again"}

    cache.put(3, "new")
    assert cache == {3: "new"}


async def test_the_gates_maps_are_bounded(clock: ManualClock) -> None:
    gate = MemoryGate(clock, max_entries=2)
    ids = [PydanticObjectId(f"6650c0ffee012345678900{n:02x}") for n in range(3)]
    for user_id in ids:
        gate.user_rows[str(user_id)] = (True, 0, None)
        await gate.admit_token(token(user_id))

    for user_id in ids[1:]:  # ids[0] was dropped with the others when ids[2] came
        await gate.admit_token(token(user_id))
    await gate.admit_token(token(ids[0]))
    assert gate.reads == [*map(str, ids), str(ids[1]), str(ids[0])]


def test_the_default_bound_is_five_seconds() -> None:
    gate = AccessGate(Users())  # type: ignore[arg-type]

    assert gate.ttl == 5.0

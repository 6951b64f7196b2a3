"""Today fills itself (the tasks service's rule): due or reminding today on the user's clock,
or overdue, wherever the task is, plus what was put in Today by hand; sorted by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.services.accounts.telegram_channel import TelegramChannel
from server.services.common.errors import InvalidInput
from server.services.sharing.service import Sharing
from server.services.tasks.service import SHARED_TODAY_MAX, TaskChanges, TaskDraft, TaskQuery
from tests.integration.tasks_env import TasksEnv

# The env's clock starts at 2030-01-01 00:00 UTC: 03:00 in Moscow, whose day ends at 21:00 UTC.
DAY_END = datetime(2030, 1, 1, 21, 0, tzinfo=UTC)


async def titles(env: TasksEnv, user_id: object) -> list[str]:
    return [task.title for task in await env.tasks.today(user_id)]  # type: ignore[arg-type]


async def test_today_collects_due_reminding_overdue_and_hand_put_tasks_in_time_order(
    env: TasksEnv,
):
    me = await env.user(timezone="Europe/Moscow")
    other = await env.user(timezone="Europe/Moscow")
    add = env.tasks.create
    await add(me, TaskDraft("evening call", remind_at=DAY_END - timedelta(hours=6)))
    await add(me, TaskDraft("report due", list_ref="later", due=DAY_END - timedelta(hours=15)))
    await add(me, TaskDraft("tomorrow morning", remind_at=DAY_END + timedelta(hours=9)))
    await add(me, TaskDraft("just after midnight", remind_at=DAY_END + timedelta(minutes=30)))
    await add(me, TaskDraft("late tonight", list_ref="someday",
                            remind_at=DAY_END - timedelta(minutes=30)))  # fmt: skip
    await add(me, TaskDraft("by hand", list_ref="today"))
    await add(me, TaskDraft("by hand, timed", list_ref="today",
                            remind_at=DAY_END - timedelta(hours=10)))  # fmt: skip
    await add(me, TaskDraft("overdue", remind_at=DAY_END - timedelta(days=2)))
    done = await add(me, TaskDraft("done already", remind_at=DAY_END - timedelta(hours=1)))
    await env.tasks.complete(me, done.id)  # type: ignore[arg-type]
    await add(me, TaskDraft("plain inbox"))
    await add(other, TaskDraft("someone else's", remind_at=DAY_END - timedelta(hours=1)))
    await add(me, TaskDraft("by hand, newer", list_ref="today"))

    assert await titles(env, me) == [
        "overdue", "report due", "by hand, timed", "evening call", "late tonight",
        "by hand, newer", "by hand",
    ]  # fmt: skip

    # The next day, tomorrow's task is today's (still in Inbox), yesterday's stay (overdue).
    tomorrow = await env.tasks.today(me, now=DAY_END + timedelta(hours=1))
    assert [t.title for t in tomorrow][:2] == ["overdue", "report due"]
    assert "tomorrow morning" in [t.title for t in tomorrow]
    assert "just after midnight" in [t.title for t in tomorrow]


async def test_the_day_is_the_users(env: TasksEnv):
    tokyo = await env.user(timezone="Asia/Tokyo")  # 09:00 there: the day ends at 15:00 UTC
    utc = await env.user()  # no zone: UTC
    for user in (tokyo, utc):
        await env.tasks.create(user, TaskDraft("at 16 UTC", remind_at=DAY_END - timedelta(hours=5)))
    assert await titles(env, tokyo) == []
    assert await titles(env, utc) == ["at 16 UTC"]


async def test_the_api_page_and_the_lists_count_follow_the_rule(env: TasksEnv):
    me = await env.user(timezone="Europe/Moscow")
    for i in range(5):
        await env.tasks.create(me, TaskDraft(f"t{i}", remind_at=DAY_END - timedelta(hours=5 - i)))
    await env.tasks.create(me, TaskDraft("not today", remind_at=DAY_END + timedelta(hours=3)))
    seen, cursor = [], None
    while True:
        page = await env.tasks.page(me, TaskQuery(list_ref="today", limit=2, cursor=cursor))
        seen += [task.title for task in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["t0", "t1", "t2", "t3", "t4"]
    counts = {view.key: view.open_count for view in await env.lists.overview(me, "en")}
    assert (counts["today"], counts["inbox"]) == (5, 6)
    # the built-in list itself still holds only what was put there by hand
    moved = (await env.tasks.page(me, TaskQuery(list_ref="inbox", limit=1))).items[0]
    await env.tasks.update(me, moved.id, TaskChanges(list_ref="today"))  # type: ignore[arg-type]
    done_page = await env.tasks.page(me, TaskQuery(list_ref="today", status="all"))
    assert [task.title for task in done_page.items] == [moved.title]


@pytest.mark.parametrize("cursor", ["bzE", "x" * 70, "dDEAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bzEP_w"])
async def test_a_bad_today_cursor_is_invalid_input(env: TasksEnv, cursor: str):
    me = await env.user()
    with pytest.raises(InvalidInput) as caught:
        await env.tasks.page(me, TaskQuery(list_ref="today", cursor=cursor))
    assert caught.value.field == "cursor"


# --- Shared lists (docs/sharing.md, "Today and the digest") --------------------------------


def sharing_of(env: TasksEnv) -> Sharing:
    channel = TelegramChannel(configured=True, username="family_todo_bot")
    return Sharing(env.lists, env.tasks, channel, "https://todo.example/", clock=env.clock)


async def test_shared_tasks_are_in_today_when_theirs_by_time_or_by_assignment(env: TasksEnv):
    """Unassigned: by their time, like one's own. Assigned to me: by their time, or at once
    when they have none. Assigned to someone else: theirs, not in my Today (the owner's
    included). The rest of a long family list stays out."""
    sharing = sharing_of(env)
    alice, bob, carol, dave = [await env.user(timezone="Europe/Moscow") for _ in range(4)]
    family = await env.lists.create(alice, "Family")
    for member in (bob, carol):
        code = (await sharing.create_invite(alice, family.id, "editor")).code
        await sharing.accept(member, code)
    soon, later = DAY_END - timedelta(hours=3), DAY_END + timedelta(days=6)

    async def add(title: str, who: object = None, **times: datetime) -> None:
        task = await env.tasks.create(alice, TaskDraft(title, list_ref=family.id, **times))
        if who is not None:
            await env.tasks.update(alice, task.id, TaskChanges(assignee_id=str(who)))  # type: ignore[arg-type]

    await add("everyone's, tonight", remind_at=soon)
    await add("everyone's, overdue", due=DAY_END - timedelta(days=3))
    await add("everyone's, next week", remind_at=later)
    for n in range(30):
        await add(f"someday maybe {n}")  # no time, nobody's: in nobody's Today
    await add("bob's, no time", bob)
    await add("bob's, next week", bob, due=later)
    await add("carol's, tonight", carol, due=soon)
    await add("alice's own, no time", alice)
    done = await env.tasks.create(alice, TaskDraft("done", list_ref=family.id, remind_at=soon))
    await env.tasks.complete(bob, done.id)  # type: ignore[arg-type]
    await env.tasks.create(bob, TaskDraft("bob's private", remind_at=soon + timedelta(hours=1)))
    elsewhere = await env.lists.create(dave, "Dave's")
    await env.tasks.create(dave, TaskDraft("not shared", list_ref=elsewhere.id, remind_at=soon))

    assert await titles(env, bob) == [
        "everyone's, overdue", "everyone's, tonight", "bob's private", "bob's, no time",
    ]  # fmt: skip
    assert await titles(env, carol) == [
        "everyone's, overdue", "everyone's, tonight", "carol's, tonight",
    ]  # fmt: skip
    assert await titles(env, alice) == [
        "everyone's, overdue", "everyone's, tonight", "alice's own, no time",
    ]  # fmt: skip
    # The count on the lists (Today's) and the API's page follow the same rule.
    counts = {view.key: view.open_count for view in await env.lists.overview(bob, "en")}
    assert counts["today"] == 4
    page = await env.tasks.page(bob, TaskQuery(list_ref="today"))
    assert [t.title for t in page.items] == await titles(env, bob)
    # Where a shared task comes from, for the views that mix lists.
    assert await env.lists.shared_names(bob) == {family.id: "Family"}
    assert await env.lists.shared_names(alice) == {family.id: "Family"}
    assert await env.lists.shared_names(dave) == {}

    # Once bob leaves, nothing of the list is in his Today (his assignment went back).
    await sharing.remove(bob, family.id, str(bob))
    assert await titles(env, bob) == ["bob's private"]


async def test_a_shared_list_adds_a_bounded_number_of_tasks_to_today(env: TasksEnv):
    sharing = sharing_of(env)
    alice, bob = await env.user(), await env.user()
    chores = await env.lists.create(alice, "Chores")
    await sharing.accept(bob, (await sharing.create_invite(alice, chores.id, "viewer")).code)
    for n in range(SHARED_TODAY_MAX + 5):
        due = DAY_END - timedelta(days=1, minutes=n)
        await env.tasks.create(alice, TaskDraft(f"overdue {n}", list_ref=chores.id, due=due))
    seen = await titles(env, bob)
    assert len(seen) == SHARED_TODAY_MAX
    assert seen[0] == f"overdue {SHARED_TODAY_MAX + 4}"  # the oldest first

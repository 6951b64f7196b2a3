"""The groups service on the real database: one list per group whatever races, a name the
owner already uses gets a number, members are enlisted as editors (an owner's demotion to
viewer holds), the upgrade to a supergroup is idempotent and safe when both service
messages race, and reminders are routed to the group only while the bot is in it."""

from __future__ import annotations

import asyncio

import pytest

from server.services.accounts.telegram_channel import TelegramChannel
from server.services.common.errors import Conflict, Forbidden
from server.services.sharing.groups import Groups
from server.services.sharing.service import Sharing, SharingLimits
from server.services.tasks.service import TaskDraft
from tests.integration.tasks_env import TasksEnv

GROUP, SUPERGROUP = -4_000_000_123, -1_004_000_000_123


def groups_of(env: TasksEnv, limits: SharingLimits | None = None) -> Groups:
    channel = TelegramChannel(configured=True, username="family_todo_bot")
    sharing = Sharing(env.lists, env.tasks, channel, None, limits, clock=env.clock)
    return Groups(env.lists, sharing)


async def test_first_actions_racing_in_a_new_group_make_one_list(env):
    groups = groups_of(env)
    people = [await env.user() for _ in range(5)]
    opened = await asyncio.gather(*(groups.open(GROUP, "Семья", who) for who in people))
    assert len({str(task_list.id) for task_list, _ in opened}) == 1
    roles = sorted(role for _, role in opened)
    assert roles == ["editor"] * 4 + ["owner"]
    found = await env.db.task_lists.find({"group_chat_id": {"$eq": GROUP}}).to_list(None)
    assert len(found) == 1
    # The creations themselves, side by side (no lookups in between to serialise them):
    # the unique index picks one, the others read it.
    keys = [str(who) for who in people]
    made = await asyncio.gather(*(groups._create(SUPERGROUP, "Семья", uid) for uid in keys))
    assert len({str(task_list.id) for task_list in made}) == 1


async def test_the_owners_list_of_the_same_name_is_left_alone(env):
    groups = groups_of(env)
    olya = await env.user()
    await env.lists.create(olya, "Семья")
    made, created = await groups.added(GROUP, "семья", olya)
    assert created
    assert made.name == "семья (2)"


async def test_a_member_made_a_viewer_stays_one_when_acting_in_the_group(env):
    groups = groups_of(env)
    olya, petya = await env.user(), await env.user()
    task_list, _ = await groups.open(GROUP, "Семья", olya)
    await groups.open(GROUP, "Семья", petya)
    await groups.sharing.set_role(olya, str(task_list.id), str(petya), "viewer")
    _, role = await groups.open(GROUP, "Семья", petya)
    assert role == "viewer"
    with pytest.raises(Forbidden):
        await env.tasks.create(petya, TaskDraft("молоко", list_ref=str(task_list.id)))


async def test_a_full_list_refuses_one_more_member(env):
    groups = groups_of(env, SharingLimits(members_per_list=1))
    owner, first, second = await env.user(), await env.user(), await env.user()
    await groups.open(GROUP, "Семья", owner)
    await groups.open(GROUP, "Семья", first)
    with pytest.raises(Conflict):
        await groups.open(GROUP, "Семья", second)


async def test_the_upgrade_moves_the_list_once_whoever_says_so(env):
    groups = groups_of(env)
    olya = await env.user()
    task_list, _ = await groups.open(GROUP, "Семья", olya)
    await asyncio.gather(*(groups.migrate(GROUP, SUPERGROUP) for _ in range(4)))
    assert await groups.find(GROUP) is None
    moved = await groups.find(SUPERGROUP)
    assert moved is not None
    assert moved.id == task_list.id


async def test_an_empty_list_made_in_the_supergroup_before_the_upgrade_message_gives_way(env):
    groups = groups_of(env)
    olya, petya = await env.user(), await env.user()
    old, _ = await groups.open(GROUP, "Семья", olya)
    await env.tasks.create(olya, TaskDraft("молоко", list_ref=str(old.id)))
    early, _ = await groups.open(SUPERGROUP, "Семья", petya)  # /list raced the service message
    await groups.migrate(GROUP, SUPERGROUP)
    found = await groups.find(SUPERGROUP)
    assert found is not None
    assert found.id == old.id
    assert await env.db.task_lists.find_one({"_id": early.id}) is None


async def test_reminders_are_routed_to_the_group_only_while_the_bot_is_in_it(env):
    groups = groups_of(env)
    olya = await env.user()
    task_list, _ = await groups.open(GROUP, "Семья", olya)
    in_group = await env.tasks.create(olya, TaskDraft("молоко", list_ref=str(task_list.id)))
    private = await env.tasks.create(olya, TaskDraft("подарок"))
    assert in_group.id is not None
    assert private.id is not None
    assert await groups.chat_for_task(in_group.id) == GROUP
    assert await groups.chat_for_task(private.id) is None
    await groups.left(GROUP)
    assert await groups.chat_for_task(in_group.id) is None
    again, created = await groups.added(GROUP, "Семья", olya)
    assert not created
    assert again.id == task_list.id
    assert await groups.chat_for_task(in_group.id) == GROUP

"""The sharing service on the real database, with the clock in hand: invites expire, one
code joins one person however many race for it, an account merge keeps memberships, and a
transfer that cannot happen changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from bson import ObjectId

from models import TaskList
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.common.errors import InvalidInput, ListNameTaken, ListNotFound, NotFound
from server.services.sharing.merge import follow_merged_list
from server.services.sharing.service import Sharing
from server.services.tasks.service import TaskChanges, TaskDraft, TaskQuery
from tests.integration.tasks_env import TasksEnv


def sharing_of(env: TasksEnv) -> Sharing:
    channel = TelegramChannel(configured=True, username="family_todo_bot")
    return Sharing(env.lists, env.tasks, channel, "https://todo.example/", clock=env.clock)


async def test_an_invite_expires_at_its_time_for_showing_joining_and_listing(env):
    sharing = sharing_of(env)
    alice, bob = await env.user(first_name="Alice"), await env.user(first_name="Bob")
    groceries = await env.lists.create(alice, "Groceries")
    made = await sharing.create_invite(alice, groceries.id, "editor", expires_in=3600)
    assert made.web_url == f"https://todo.example/app/#join={made.code}"
    assert made.telegram_url == f"https://t.me/family_todo_bot?start=join_{made.code}"
    env.clock.now += timedelta(minutes=59)
    assert (await sharing.preview(made.code)).owner_name == "Alice"
    assert [i.code for i in await sharing.invites(alice, groceries.id)] == [made.code]
    env.clock.now += timedelta(minutes=1)  # exactly at expiry: over
    with pytest.raises(NotFound):
        await sharing.preview(made.code)
    with pytest.raises(NotFound):
        await sharing.accept(bob, made.code)
    assert await sharing.invites(alice, groceries.id) == []
    with pytest.raises(ListNotFound):
        await env.tasks.page(bob, TaskQuery(list_ref=groceries.id))


async def test_one_code_joins_one_person_however_many_race_for_it(env):
    sharing = sharing_of(env)
    alice = await env.user()
    joiners = [await env.user() for _ in range(5)]
    groceries = await env.lists.create(alice, "Groceries")
    code = (await sharing.create_invite(alice, groceries.id, "viewer")).code
    results = await asyncio.gather(
        *(sharing.accept(who, code) for who in joiners), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, NotFound) for r in results if isinstance(r, BaseException))
    assert len(await sharing.members(alice, groceries.id)) == 2  # the owner and the winner


async def test_an_account_merge_keeps_memberships_and_shared_tasks(env):
    sharing = sharing_of(env)
    alice, bob, bob_web = await env.user(), await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    task = await env.tasks.create(alice, TaskDraft(title="Milk", list_ref=groceries.id))
    await sharing.accept(bob, (await sharing.create_invite(alice, groceries.id, "editor")).code)
    await sharing.move_all(bob, bob_web)
    await env.tasks.move_all(bob, bob_web)
    assert (await env.tasks.get(bob_web, task.id)).title == "Milk"
    with pytest.raises(ListNotFound):
        await env.tasks.page(bob, TaskQuery(list_ref=groceries.id))
    roles = {m.user_id: m.role for m in await sharing.members(alice, groceries.id)}
    assert roles == {str(alice): "owner", str(bob_web): "editor"}


async def test_a_merge_that_folds_a_shared_list_into_one_of_its_name_keeps_its_people(env):
    """The merged account's shared "Groceries" is folded into the surviving account's
    "groceries": its members, their roles and its open invites follow into that list."""
    sharing = sharing_of(env)
    alice, alice_old = await env.user(), await env.user()
    bob, carol, dave = await env.user(), await env.user(), await env.user()
    kept = await env.lists.create(alice, "groceries")
    merged = await env.lists.create(alice_old, "Groceries")
    milk = await env.tasks.create(alice_old, TaskDraft(title="Milk", list_ref=merged.id))

    async def join(owner, task_list, who, role):
        code = (await sharing.create_invite(owner, task_list.id, role)).code
        await sharing.accept(who, code)

    await join(alice_old, merged, bob, "editor")
    await join(alice_old, merged, carol, "editor")  # in both lists: the stronger role stays
    await join(alice_old, merged, alice, "viewer")  # the survivor: owner, not a member
    await join(alice, kept, carol, "viewer")
    spare = await sharing.create_invite(alice_old, merged.id, "viewer")
    await env.tasks.update(alice_old, milk.id, TaskChanges(assignee_id=str(bob)))

    await sharing.move_all(alice_old, alice)
    await env.tasks.move_all(alice_old, alice)

    roles = {m.user_id: m.role for m in await sharing.members(alice, kept.id)}
    assert roles == {str(alice): "owner", str(bob): "editor", str(carol): "editor"}
    rows = await env.db["list_members"].find({}).to_list()
    assert sorted(r["_id"] for r in rows) == sorted(f"{kept.id}:{u}" for u in (bob, carol))
    assert {r["owner_id"] for r in rows} == {str(alice)}
    page = await env.tasks.page(bob, TaskQuery(list_ref=kept.id))  # bob still sees the list
    assert [(t.title, t.assignee_id) for t in page.items] == [("Milk", str(bob))]
    await env.tasks.update(bob, milk.id, TaskChanges(title="Oat milk"))  # and may change it
    # The open invite now leads to the surviving list.
    assert (await sharing.preview(spare.code)).list_id == kept.id
    await sharing.accept(dave, spare.code)
    assert str(dave) in {m.user_id for m in await sharing.members(alice, kept.id)}
    assert [v.name for v in await env.lists.overview(bob)][4:] == ["groceries"]


async def test_folding_a_list_twice_changes_nothing_more_and_never_makes_the_owner_a_member(
    env,
):
    """A retry after a crash runs the step again; and a membership of the surviving list's
    owner in the folded list (left behind by an interrupted merge) is dropped, not moved."""
    sharing = sharing_of(env)
    alice, bob, carol = await env.user(), await env.user(), await env.user()
    kept = await env.lists.create(alice, "Home")
    folded = await env.lists.create(carol, "Home")
    for who in (alice, bob):
        await sharing.accept(who, (await sharing.create_invite(carol, folded.id, "editor")).code)
    into = await env.db["task_lists"].find_one({"_id": ObjectId(kept.id)})
    for _ in range(2):
        await follow_merged_list(folded.id, TaskList.model_validate(into))
    rows = await env.db["list_members"].find({}).to_list()
    assert [(r["_id"], r["role"], r["owner_id"]) for r in rows] == [
        (f"{kept.id}:{bob}", "editor", str(alice))
    ]


async def test_a_transfer_to_someone_with_a_list_of_that_name_changes_nothing(env):
    sharing = sharing_of(env)
    alice, bob = await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    await env.lists.create(bob, "groceries")
    await sharing.accept(bob, (await sharing.create_invite(alice, groceries.id, "viewer")).code)
    with pytest.raises(ListNameTaken):
        await sharing.transfer(alice, groceries.id, str(bob))
    roles = {m.user_id: m.role for m in await sharing.members(alice, groceries.id)}
    assert roles == {str(alice): "owner", str(bob): "viewer"}


async def test_deleting_a_list_removes_its_members_and_invites(env):
    sharing = sharing_of(env)
    alice, bob = await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    await sharing.accept(bob, (await sharing.create_invite(alice, groceries.id, "editor")).code)
    spare = await sharing.create_invite(alice, groceries.id, "viewer")
    await env.lists.delete(alice, groceries.id)
    assert await env.db["list_members"].find({}).to_list() == []
    with pytest.raises(NotFound):
        await sharing.preview(spare.code)
    assert [v.name for v in await env.lists.overview(bob)][4:] == []


# --- Reminders on shared tasks ------------------------------------------------------------


async def test_a_shared_tasks_reminder_goes_to_its_assignee_else_to_who_set_it(env):
    sharing = sharing_of(env)
    alice, bob, carol = await env.user(), await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    for member in (bob, carol):
        await sharing.accept(
            member, (await sharing.create_invite(alice, groceries.id, "editor")).code
        )
    when = env.clock.now + timedelta(days=1)
    task = await env.tasks.create(
        bob, TaskDraft(title="Milk", list_ref=groceries.id, remind_at=when)
    )
    assert env.planner.plans[-1].user_id == bob  # bob set it
    await env.tasks.update(alice, task.id, TaskChanges(assignee_id=str(carol)))
    assert env.planner.plans[-1].user_id == carol  # assigned: to carol
    await env.tasks.update(alice, task.id, TaskChanges(assignee_id=None))
    assert env.planner.plans[-1].user_id == bob
    own = await env.tasks.create(alice, TaskDraft(title="Mine", remind_at=when))
    assert env.planner.plans[-1].user_id == alice
    assert own.remind_by == str(alice)


async def test_a_removed_member_gets_no_more_reminders_of_the_list(env):
    sharing = sharing_of(env)
    alice, bob = await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    await sharing.accept(bob, (await sharing.create_invite(alice, groceries.id, "editor")).code)
    when = env.clock.now + timedelta(days=1)
    set_by_bob = await env.tasks.create(
        bob, TaskDraft(title="Milk", list_ref=groceries.id, remind_at=when)
    )
    assigned = await env.tasks.create(
        alice, TaskDraft(title="Eggs", list_ref=groceries.id, remind_at=when)
    )
    await env.tasks.update(alice, assigned.id, TaskChanges(assignee_id=str(bob)))
    assert env.planner.plans[-1].user_id == bob
    env.planner.plans.clear()
    await sharing.remove(alice, groceries.id, str(bob))
    planned = {plan.task_id: plan.user_id for plan in env.planner.plans}
    assert planned == {set_by_bob.id: alice, assigned.id: alice}
    after = await env.tasks.get(alice, assigned.id)
    assert (after.assignee_id, after.remind_by) == (None, str(alice))


async def test_an_assignee_must_be_able_to_act_on_the_task(env):
    sharing = sharing_of(env)
    alice, viewer = await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    await sharing.accept(viewer, (await sharing.create_invite(alice, groceries.id, "viewer")).code)
    task = await env.tasks.create(alice, TaskDraft(title="Milk", list_ref=groceries.id))
    with pytest.raises(InvalidInput) as refused:
        await env.tasks.update(alice, task.id, TaskChanges(assignee_id=str(viewer)))
    assert refused.value.field == "assignee_id"

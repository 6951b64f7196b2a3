"""Fixtures for the tasks services on the real test database (import them into a module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from beanie import PydanticObjectId
from pymongo import AsyncMongoClient

from models import User
from server.db.connection import init_models
from server.services.reminders.port import ReminderPlan
from server.services.tasks.lists import Lists
from server.services.tasks.search_backend import MongoSearch
from server.services.tasks.service import Tasks


@dataclass
class RecordingPlanner:
    """A ReminderPlanner that remembers what it was told (the planner is another helper's;
    here only the calls matter)."""

    plans: list[ReminderPlan] = field(default_factory=list)
    forgotten_tasks: list[PydanticObjectId] = field(default_factory=list)
    forgotten_users: list[PydanticObjectId] = field(default_factory=list)

    async def plan(self, plan: ReminderPlan) -> None:
        self.plans.append(plan)

    async def forget_task(self, task_id: PydanticObjectId) -> None:
        self.forgotten_tasks.append(task_id)

    async def forget_user(self, user_id: PydanticObjectId) -> None:
        self.forgotten_users.append(user_id)


class StepClock:
    """A clock that advances one millisecond per reading: distinct, ordered creation times
    without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass
class TasksEnv:
    lists: Lists
    tasks: Tasks
    planner: RecordingPlanner
    clock: StepClock
    db: Any

    async def user(self, **fields: Any) -> PydanticObjectId:
        user = User(**fields)
        await user.insert()
        assert user.id is not None
        return user.id

    def fresh_process(self) -> Tasks:
        """The same database seen by another process (its own 'already ensured' set)."""
        return Tasks(Lists(), self.planner, self.tasks.search_backend, clock=self.clock)


@pytest.fixture
async def env(mongo_uri: str, db: Any) -> AsyncIterator[TasksEnv]:
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        await init_models(client, db.name)
        lists = Lists()
        planner = RecordingPlanner()
        clock = StepClock()
        search = MongoSearch()
        await search.backfill()  # as the app does at start: search through the postings
        tasks = Tasks(lists, planner, search, clock=clock)
        yield TasksEnv(lists=lists, tasks=tasks, planner=planner, clock=clock, db=db)
    finally:
        await client.close()

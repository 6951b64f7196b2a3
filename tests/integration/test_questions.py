"""The bot's pending questions on the real database: one per Telegram account, the latest
wins, answered once, and not an answer any more after QUESTION_TTL (the injectable clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.bot_question import BotQuestion
from server.services.reminders.questions import QUESTION_TTL, Questions
from tests.integration.tasks_env import TasksEnv


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_one_question_per_account_latest_wins_and_it_expires(env: TasksEnv):
    clock = Clock()
    questions = Questions(clock)
    await questions.ask(101, "zone", original="купить молоко завтра в 9")
    await questions.ask(202, "choice", draft_id="a" * 24)
    first = await questions.pending(101)
    assert first is not None
    assert (first.kind, first.original) == ("zone", "купить молоко завтра в 9")
    await questions.ask(101, "time", draft_id="b" * 24)  # the later question replaces it
    latest = await questions.pending(101)
    assert latest is not None
    assert (latest.kind, latest.draft_id, latest.original) == ("time", "b" * 24, "")
    assert await env.db["bot_questions"].count_documents({}) == 2

    await questions.clear(101, "zone")  # another kind: stays
    assert await questions.pending(101) is not None
    await questions.clear(101)
    assert await questions.pending(101) is None
    assert (await questions.pending(202)) is not None  # someone else's is untouched

    clock.now += QUESTION_TTL - timedelta(seconds=1)
    assert await questions.pending(202) is not None
    clock.now += timedelta(seconds=1)
    assert await questions.pending(202) is None  # even before the TTL purge removes it
    stored = await env.db["bot_questions"].find_one({"_id": "202"})
    assert isinstance(stored["expires_at"], datetime)  # a date: the TTL index can purge it
    assert BotQuestion.get_settings().name == "bot_questions"


async def test_a_long_original_is_cut(env: TasksEnv):
    questions = Questions(Clock())
    await questions.ask(7, "zone", original="x" * 5000)
    question = await questions.pending(7)
    assert question is not None
    assert len(question.original) == 500

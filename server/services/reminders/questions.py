"""The bot's pending questions: what a user's next typed text answers, if anything. The bot
asks (its time zone, a new time for a draft, which of two times was meant) and the answer
arrives as an ordinary message, possibly at another process: so the question is kept here,
in MongoDB, keyed by the user, and not recognised from the wording of the prompt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from beanie.odm.utils.dump import get_dict

from models.bot_question import BotQuestion, QuestionKind
from models.clock import utcnow
from server.services.common.mongo import eq

# An answer comes within minutes; a text hours later is a new message, not an answer.
QUESTION_TTL = timedelta(minutes=30)
MAX_ORIGINAL = 500


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Questions:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock

    async def ask(
        self, user_id: object, kind: QuestionKind, *, draft_id: object = "", original: str = ""
    ) -> None:
        """The user's next text answers this (any earlier question is dropped)."""
        expires = self._clock() + QUESTION_TTL
        question = BotQuestion(
            id=str(user_id), kind=kind, draft_id=str(draft_id or ""),
            original=original[:MAX_ORIGINAL], expires_ms=_ms(expires), expires_at=expires,
        )  # fmt: skip
        await BotQuestion.get_pymongo_collection().replace_one(
            eq(_id=str(user_id)), get_dict(question, to_db=True), upsert=True
        )

    async def pending(self, user_id: object) -> BotQuestion | None:
        doc = await BotQuestion.get_pymongo_collection().find_one(eq(_id=str(user_id)))
        if doc is None or doc["expires_ms"] <= _ms(self._clock()):
            return None
        question: BotQuestion = BotQuestion.model_validate(doc)
        return question

    async def clear(self, user_id: object, kind: QuestionKind | None = None) -> None:
        """Answered (or no longer asked); with `kind`, only a question of that kind."""
        filters = eq(_id=str(user_id)) if kind is None else eq(_id=str(user_id), kind=kind)
        await BotQuestion.get_pymongo_collection().delete_one(filters)

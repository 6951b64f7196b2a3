from datetime import datetime
from typing import Literal

from beanie import Document
from pymongo import ASCENDING, IndexModel

QuestionKind = Literal["zone", "time", "choice"]


class BotQuestion(Document):
    """The question the bot is waiting for a typed answer to, one per user (the user's id is
    the `_id`): their time zone, a new time after "Change time", or which of two times they
    meant. Kept in MongoDB (any process may get the answer) and written whole with
    `replace_one`, so `expires_at` stays a date for the TTL index on the embedded server."""

    id: str  # type: ignore[assignment]  # the user's id as a string
    kind: QuestionKind
    draft_id: str = ""  # the reminder draft the answer is for ("time", "choice")
    original: str = ""  # the text that made the bot ask for the zone, shown once it is set
    expires_ms: int  # the answer is taken until then (the TTL purge runs late)
    expires_at: datetime

    class Settings:
        name = "bot_questions"
        indexes = [IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0)]

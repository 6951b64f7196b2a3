import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    # MongoDB stores milliseconds; truncating here keeps values equal after a round trip.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def epoch_ms() -> int:
    """Now, as integer epoch milliseconds: how instants that `$set` writes are stored (the
    embedded server turns a datetime written by `$set` into a string)."""
    return time.time_ns() // 1_000_000


def from_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime, exactly (no float rounding)."""
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)

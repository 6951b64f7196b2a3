from datetime import UTC, datetime


def utcnow() -> datetime:
    # MongoDB stores milliseconds; truncating here keeps values equal after a round trip.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)

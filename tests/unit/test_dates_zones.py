"""Finding a user's zone: names, cities, offsets, locations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.services.dates.zones import (
    COMMON_ZONES,
    get_zone,
    offset_label,
    resolve,
    zone_at,
)

MARCH = datetime(2026, 3, 28, 12, tzinfo=UTC)  # Europe and the US on winter/summer time mixed
JULY = datetime(2026, 7, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Europe/Berlin", "en", ["Europe/Berlin"]),
        ("europe/berlin", "en", ["Europe/Berlin"]),
        ("Moscow", "en", ["Europe/Moscow"]),
        ("москва", "ru", ["Europe/Moscow"]),
        ("Новосибирск", "ru", ["Asia/Novosibirsk"]),
        ("new york", "en", ["America/New_York"]),
        ("UTC+3", "ru", ["Europe/Moscow", "Europe/Minsk", "Etc/GMT-3"]),
        ("+03:00", "ru", ["Europe/Moscow", "Europe/Minsk", "Etc/GMT-3"]),
        ("GMT-5", "en", ["America/Chicago", "Etc/GMT+5"]),  # Chicago is on CDT in late March
        ("+5:30", "en", ["Asia/Kolkata"]),
        ("utc", "en", ["UTC"]),
        ("UTC+15", "en", []),
        ("Atlantis", "en", []),
        ("localtime", "en", []),
        ("", "en", []),
    ],
)
def test_resolve(text: str, language: str, expected: list[str]):
    assert resolve(text, MARCH, language) == expected


def test_common_zones_are_real_zones():
    for zones in COMMON_ZONES.values():
        assert all(get_zone(z) is not None for z in zones)
    assert get_zone("Not/AZone") is None
    assert get_zone("../../etc/passwd") is None


def test_offset_labels():
    assert offset_label("Europe/Moscow", MARCH) == "UTC+3"
    assert offset_label("Europe/Berlin", JULY) == "UTC+2"
    assert offset_label("Asia/Kolkata", JULY) == "UTC+5:30"
    assert offset_label("America/St_Johns", MARCH) == "UTC-2:30"
    assert offset_label("UTC", MARCH) == "UTC"


def test_a_location_becomes_a_zone_offline():
    assert zone_at(55.7558, 37.6173) == "Europe/Moscow"
    assert zone_at(52.52, 13.405) == "Europe/Berlin"
    assert zone_at(40.7128, -74.006) == "America/New_York"
    assert zone_at(91, 0) is None

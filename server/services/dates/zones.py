"""Finding a user's IANA time zone: common zones per language (a picker), a typed name or
UTC offset, and a shared location (offline, through tzfpy's bundled boundaries)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# Shown first in a picker, by language: where most speakers of it live (UTC offsets west to
# east). Russian: every zone of Russia plus the capitals of neighbours that use Russian.
COMMON_ZONES: dict[str, tuple[str, ...]] = {
    "ru": (
        "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
        "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk",
        "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka", "Europe/Minsk", "Europe/Kyiv",
        "Asia/Almaty", "Asia/Tashkent", "Asia/Tbilisi", "Asia/Yerevan", "Europe/Berlin",
    ),
    "en": (
        "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
        "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Europe/Moscow", "Asia/Dubai",
        "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
        "UTC",
    ),
}  # fmt: skip

# Russian names users type for the zones above (and a few big cities in them).
RUSSIAN_NAMES: dict[str, str] = {
    "калининград": "Europe/Kaliningrad", "москва": "Europe/Moscow", "мск": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow", "петербург": "Europe/Moscow", "питер": "Europe/Moscow",
    "спб": "Europe/Moscow", "казань": "Europe/Moscow", "нижний новгород": "Europe/Moscow",
    "самара": "Europe/Samara", "екатеринбург": "Asia/Yekaterinburg", "челябинск":
    "Asia/Yekaterinburg", "пермь": "Asia/Yekaterinburg", "уфа": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk", "новосибирск": "Asia/Novosibirsk", "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk", "якутск": "Asia/Yakutsk", "владивосток": "Asia/Vladivostok",
    "хабаровск": "Asia/Vladivostok", "магадан": "Asia/Magadan", "камчатка":
    "Asia/Kamchatka", "минск": "Europe/Minsk", "киев": "Europe/Kyiv", "алматы": "Asia/Almaty",
    "ташкент": "Asia/Tashkent", "тбилиси": "Asia/Tbilisi", "ереван": "Asia/Yerevan",
    "берлин": "Europe/Berlin", "лондон": "Europe/London", "нью-йорк": "America/New_York",
}  # fmt: skip

OFFSET = re.compile(
    r"^(?:utc|gmt|мск|msk)?\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?$"
    r"|^(?:utc|gmt)$",
)
# Zones to offer for an offset that is not a whole number of hours (no Etc/GMT zone has it).
FRACTIONAL = {
    (-3, 30): "America/St_Johns", (3, 30): "Asia/Tehran", (4, 30): "Asia/Kabul",
    (5, 30): "Asia/Kolkata", (5, 45): "Asia/Kathmandu", (6, 30): "Asia/Yangon",
    (9, 30): "Australia/Darwin", (10, 30): "Australia/Adelaide",
}  # fmt: skip


@cache
def all_zones() -> frozenset[str]:
    # "localtime" and the like are files of the zone database, not zones a user can mean.
    return frozenset(z for z in available_timezones() if "/" in z or z == "UTC")


@cache
def _by_lower() -> dict[str, str]:
    names: dict[str, str] = {}
    for zone in sorted(all_zones()):
        names[zone.lower()] = zone
        city = zone.rsplit("/", 1)[-1].replace("_", " ").lower()
        names.setdefault(city, zone)
    return names


def get_zone(name: str) -> ZoneInfo | None:
    """The zone of an exact IANA name, or None."""
    if name not in all_zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_zone(name: str) -> bool:
    return get_zone(name) is not None


def offset_label(zone: str, now: datetime) -> str:
    """ "UTC+3", "UTC-3:30", "UTC" for the zone's offset at `now`."""
    offset = now.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def city(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def common_zones(language: str) -> tuple[str, ...]:
    return COMMON_ZONES.get(language, COMMON_ZONES["en"])


def zones_at_offset(offset: timedelta, now: datetime, language: str) -> list[str]:
    """Zones whose offset is `offset` at `now`: the language's common ones first, then one
    fixed-offset zone (Etc/GMT±N, whose sign is inverted by POSIX convention)."""
    matches = [
        z for z in dict.fromkeys((*common_zones(language), *common_zones("en")))
        if now.astimezone(ZoneInfo(z)).utcoffset() == offset
    ]  # fmt: skip
    minutes = int(offset.total_seconds() // 60)
    h, m = divmod(abs(minutes), 60)
    if m == 0 and h <= 14:
        fixed = "UTC" if h == 0 else f"Etc/GMT{'-' if minutes > 0 else '+'}{h}"
        if fixed in all_zones() and fixed not in matches:
            matches.append(fixed)
    elif (extra := FRACTIONAL.get((h if minutes > 0 else -h, m))) and extra not in matches:
        matches.append(extra)
    return matches


def resolve(text: str, now: datetime, language: str = "en") -> list[str]:
    """Zones the user may mean by `text`: an IANA name, a city, or a UTC offset. Empty when
    nothing fits; several when the text is an offset (the caller lets the user pick)."""
    typed = " ".join(text.strip().lower().replace("ё", "е").split())
    if not typed or len(typed) > 64:
        return []
    if (m := OFFSET.match(typed.replace(" ", ""))) is not None:
        if m["sign"] is None:
            return ["UTC"]
        hours, minutes = int(m["h"]), int(m["m"] or 0)
        if hours > 14 or minutes >= 60:
            return []
        sign = -1 if m["sign"] in "-−" else 1
        return zones_at_offset(sign * timedelta(hours=hours, minutes=minutes), now, language)
    if typed in RUSSIAN_NAMES:
        return [RUSSIAN_NAMES[typed]]
    if (zone := _by_lower().get(typed)) is not None:
        return [zone]
    if (zone := _by_lower().get(typed.replace("-", " "))) is not None:
        return [zone]
    if (zone := _by_city(language).get(typed)) is not None:  # "Токио", "Мюнхен"…
        return [zone]
    return []


@cache
def _by_city(language: str) -> dict[str, str]:
    """Zones by their city's name in the language, from CLDR's exemplar cities (Babel):
    dictionary reads once the locale's data is loaded (humanize.warm loads it off the event
    loop at start: ~55 ms for Russian)."""
    from babel import Locale

    names: dict[str, str] = {}
    for zone, info in sorted(Locale.parse(language[:2]).time_zones.items()):
        city = info.get("city")
        if city and zone in all_zones():
            names.setdefault(" ".join(city.lower().replace("ё", "е").split()), zone)
    return names


def zone_at(latitude: float, longitude: float) -> str | None:
    """The zone of a place, from tzfpy's bundled boundary data (no network). Loaded on the
    first call (~35 MB of memory, ~60 ms), so a process that never sees a location pays
    nothing."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    import tzfpy  # lazy on purpose, see the docstring

    name = tzfpy.get_tz(longitude, latitude)
    return name if name in all_zones() else None

"""The bot's callback data: one codec for every button (server/telegram/callbacks.py), a
pattern from it on every CallbackQueryHandler, and no handler whose correctness depends on
where it is registered. Data already in users' chats keeps its meaning."""

from __future__ import annotations

from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st
from telegram import CallbackQuery, Update, User
from telegram.ext import CallbackQueryHandler

from config import load_settings
from models.task_list import BUILTIN_KEYS
from server.services.dates.zones import COMMON_ZONES
from server.services.registry import Services
from server.telegram import callbacks as cb
from server.telegram.bot import build_application
from server.telegram.types import BotApp
from tests.kit.telegram import BOT_TOKEN, PUBLIC_URL, WEBHOOK_SECRET

TASK, OTHER = "0123456789abcdef01234567", "fedcba9876543210fedcba98"

# ------------------------------------------------------------------------- the codec

_ids = st.text("0123456789abcdef", min_size=24, max_size=24)
_pages = st.integers(0, 9999)
_views = st.builds(cb.View, st.sampled_from(BUILTIN_KEYS) | _ids, _pages)
_codes = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=60
)
_zones = st.sampled_from(sorted({z for zones in COMMON_ZONES.values() for z in zones})) | st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/", min_size=1, max_size=60
)
buttons: st.SearchStrategy[cb.Button] = st.one_of(
    st.builds(cb.CardAction, st.sampled_from(sorted(cb.CARD_OPS)), _ids, st.none() | _views),
    st.builds(cb.ShowList, _views),
    st.builds(cb.DoneFromList, _views, _ids),
    st.just(cb.Noop()),
    st.just(cb.Example()),
    st.builds(cb.GroupPage, _pages),
    st.builds(cb.GroupDone, _pages, _ids),
    st.builds(
        cb.ReminderPress,
        st.sampled_from(["done", "stop", "10m", "1h", "tomorrow"]),
        _ids,
        st.none() | st.integers(0, 10**11 - 1),
    ),
    st.builds(cb.CardPress, st.sampled_from(["save", "change", "cancel"]), _ids),
    st.builds(lambda d, o: cb.CardPress("option", d, o), _ids, st.integers(0, 9)),
    st.builds(cb.PickZone, _zones),
    st.just(cb.TypeZone()),
    st.builds(
        cb.LinkPress,
        st.booleans(),
        st.text(min_size=1, max_size=59).filter(lambda c: len(c.encode()) <= 59),
    ),
    st.builds(cb.JoinPress, st.none() | _codes),
    st.builds(cb.NotifySwitch, st.booleans()),
    st.builds(cb.FeedPress, st.sampled_from(["new", "off"])),
)


@given(buttons)
def test_every_button_round_trips_within_telegrams_64_bytes(button: cb.Button) -> None:
    data = cb.data(button)
    assert len(data.encode()) <= cb.MAX_BYTES
    assert cb.parse(data) == button


# Data exactly as earlier versions of the bot wrote it: such buttons are in users' chats.
SENT_BEFORE: list[tuple[str, cb.Button]] = [
    (f"c:d:{TASK}", cb.CardAction("d", TASK)),
    (f"c:t:{TASK}:{OTHER}:12", cb.CardAction("t", TASK, cb.View(OTHER, 12))),
    ("v:someday:3", cb.ShowList(cb.View("someday", 3))),
    (f"vd:inbox:0:{TASK}", cb.DoneFromList(cb.View("inbox"), TASK)),
    ("n", cb.Noop()),
    ("ex", cb.Example()),
    ("gv:2", cb.GroupPage(2)),
    (f"gd:0:{TASK}", cb.GroupDone(0, TASK)),
    (f"r:done:{TASK}", cb.ReminderPress("done", TASK)),
    (f"r:done:{TASK}:1733562000", cb.ReminderPress("done", TASK, 1733562000)),
    (f"r:tomorrow:{TASK}", cb.ReminderPress("tomorrow", TASK)),
    (f"rd:save:{TASK}", cb.CardPress("save", TASK)),
    (f"rd:o1:{TASK}", cb.CardPress("option", TASK, 1)),
    ("tz:America/Argentina/Buenos_Aires", cb.PickZone("America/Argentina/Buenos_Aires")),
    ("tz:Etc/GMT-3", cb.PickZone("Etc/GMT-3")),
    ("tz?", cb.TypeZone()),
    ("lk:y:" + "A" * 59, cb.LinkPress(True, "A" * 59)),
    ("lk:n:x-y_z", cb.LinkPress(False, "x-y_z")),
    ("sj:AbC-_9", cb.JoinPress("AbC-_9")),
    ("sx", cb.JoinPress(None)),
    ("nt:off", cb.NotifySwitch(False)),
    ("cal:new", cb.FeedPress("new")),
]
NEVER_MADE = [
    *(None, "", "zz", "c:q:" + TASK, "c:d:nothex", "v:elsewhere:0", "vd:inbox:0"),
    *("r:later:" + TASK, "rd:o:" + TASK, "cal:xyz", "nt:maybe", "tz:", "s", "x" * 64),
]


def test_data_already_in_chats_keeps_its_meaning() -> None:
    for data, button in SENT_BEFORE:
        assert cb.parse(data) == button, data
        assert cb.data(button) == data


def test_data_the_bot_never_made_is_no_button() -> None:
    for data in NEVER_MADE:
        assert cb.parse(data) is None, data


# ------------------------------------------------------------------- the handlers


def _application() -> BotApp:
    settings = load_settings(
        _env_file=None, jwt_secret="x" * 64, telegram_bot_token=BOT_TOKEN, public_url=PUBLIC_URL,
        telegram_webhook_secret=WEBHOOK_SECRET,
    )  # fmt: skip
    # Building only registers handlers: no service is called until an update arrives.
    return build_application(settings, cast(Services, object()))


def _button_handlers(application: BotApp) -> dict[int, list[CallbackQueryHandler[Any, Any]]]:
    return {
        group: [h for h in handlers if isinstance(h, CallbackQueryHandler)]
        for group, handlers in application.handlers.items()
    }


def test_every_button_handler_has_a_pattern_from_the_codec() -> None:
    groups = _button_handlers(_application())
    patterns = [h.pattern for handlers in groups.values() for h in handlers]
    assert patterns, "the bot has button handlers"
    assert all(isinstance(p, cb.Claim | cb.Unclaimed) for p in patterns), patterns
    # The one handler of unclaimed data is there once, added last on purpose (bot.py).
    assert [p for p in patterns if isinstance(p, cb.Unclaimed)] == [cb.UNCLAIMED]
    assert groups[0][-1].pattern is cb.UNCLAIMED


def test_any_data_goes_to_one_handler_of_a_group_wherever_it_is_registered() -> None:
    """Within a PTB handler group the first matching handler takes an update: if patterns
    never overlap there, the registration order cannot change who answers a press."""
    groups = _button_handlers(_application())
    for data in [d for d, _ in SENT_BEFORE] + NEVER_MADE:
        if not data:  # Telegram sends 1-64 bytes (PTB gives a press without data to any handler)
            continue
        for group, handlers in groups.items():
            takers = [h.callback for h in handlers if h.check_update(_press(data))]
            if group == 0:
                assert len(takers) == 1, (data, takers)
            else:  # the groups before the handlers (a group chat's presser is enlisted)
                assert len(takers) <= 1, (data, takers)


def _press(data: str) -> Update:
    user = User(1, "T", is_bot=False)
    return Update(1, callback_query=CallbackQuery("1", user, "chat", data=data))

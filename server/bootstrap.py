"""The composition root: every service is built here, once, from the settings. The service
layer never reads `config`; what it needs is handed to it here."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from config import Settings
from server.services.accounts.access_gate import AccessGate, Clock
from server.services.accounts.account_data import AccountDataOwner
from server.services.accounts.admin import Admin
from server.services.accounts.auth import AuthLimits, AuthService
from server.services.accounts.common_passwords import load_common_passwords
from server.services.accounts.linking import TelegramLinking
from server.services.accounts.manage import Accounts
from server.services.accounts.passwords import Passwords
from server.services.accounts.profile import Profiles, UsernameLimits
from server.services.accounts.recovery import PasswordRecovery, RecoveryLimits
from server.services.accounts.sessions import Sessions
from server.services.accounts.telegram_auth import InitDataVerifier, WidgetVerifier
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.accounts.tokens import AccessTokens
from server.services.accounts.users import Users
from server.services.accounts.widget import WidgetSignIn
from server.services.common.throttle import Limit, RateLimiter
from server.services.portability.export import Exporter
from server.services.portability.feed import CalendarFeeds
from server.services.portability.importer import Importer
from server.services.portability.links import DataLinks
from server.services.registry import Services
from server.services.reminders import clock as reminder_clock
from server.services.reminders.claims import ReminderClaims
from server.services.reminders.delivery import DeliverySettings, ReminderDelivery
from server.services.reminders.drafts import ReminderDrafts
from server.services.reminders.planning import ReminderPlanning
from server.services.reminders.preferences import ReminderPreferences
from server.services.reminders.questions import Questions
from server.services.sharing.groups import Groups
from server.services.sharing.notices import ChangeNotices, NoticeSettings
from server.services.sharing.service import Sharing, SharingLimits
from server.services.tasks.lists import Lists
from server.services.tasks.search_backend import MongoSearch
from server.services.tasks.service import TaskLimits, Tasks
from server.services.updates import UpdateJournal


def build_services(
    settings: Settings,
    *,
    data_owners: Sequence[AccountDataOwner] = (),
    clock: Clock = time.monotonic,
) -> Services:
    """`data_owners`: the services that keep data of a user's (lists, tasks, reminders), in
    the order an account merge or deletion calls them (see
    server/services/accounts/account_data.py).
    `clock`: the monotonic clock of the per-process caches (tests move it by hand)."""
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
        workers=settings.hash_workers,
    )
    access = AccessTokens(
        key=settings.jwt_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
        previous_keys=tuple(s.get_secret_value().encode() for s in settings.jwt_previous_secrets),
    )
    users = Users()
    lists = Lists(max_lists=settings.quota_lists)
    # Reminders: one clock for planning, delivery, the claims and the change notices (a
    # module attribute, so an end-to-end test can move it: tests/clock.py).
    wall = reminder_clock.SystemClock()
    wakeup = reminder_clock.Wakeup()  # a plan due sooner wakes this process's delivery loop
    planning = ReminderPlanning(wakeup)
    delivery_settings = _delivery_settings(settings)
    claims = ReminderClaims(
        wall,
        delivery_settings.lease,
        delivery_settings.send_rate,
        delivery_settings.chat_interval,
    )
    task_limits = TaskLimits(
        max_tasks=settings.quota_tasks,
        max_active_reminders=settings.quota_active_reminders,
        tasks_per_minute=settings.quota_tasks_per_minute,
        repeat_min_gap=settings.repeat_min_interval,
    )
    # Shared lists' change notifications: recorded on every change (the tasks service's
    # observer), sent within Telegram's limits shared with the reminders.
    notices = ChangeNotices(
        claims,
        NoticeSettings(
            window=settings.sharing_notify_window,
            lease=settings.reminder_lease,
            poll=settings.sharing_notify_poll,
        ),
        clock=wall,
        members_per_list=settings.sharing_max_members_per_list,
    )
    # The tasks service owns a reminder's time: it tells planning after every change.
    tasks = Tasks(lists, planner=planning, search=MongoSearch(), limits=task_limits,
                  observer=notices)  # fmt: skip
    reminder_prefs = ReminderPreferences(wall, today=tasks, shared=lists, users=users)
    gate = AccessGate(users, ttl=settings.revocation_cache_ttl, clock=clock)
    limiter = RateLimiter()
    limits = _auth_limits(settings)
    auth = AuthService(
        passwords,
        access,
        refresh_ttl=settings.refresh_token_ttl,
        limits=limits,
        limiter=limiter,
        users=users,
        common_passwords=load_common_passwords(),
        init_data=_init_data_verifier(settings),
        user_seen=lists.ensure_builtins,
        gate=gate,
        max_sessions=settings.max_sessions_per_user,
    )
    updates = UpdateJournal()
    sessions = Sessions(users, gate)
    recovery_limits = RecoveryLimits(
        forgot_per_username=Limit(
            "forgot-user", settings.password_forgot_max_per_username, settings.password_reset_window
        ),
        per_address=Limit(
            "reset-addr", settings.password_reset_max_per_address, settings.password_reset_window
        ),
    )
    bot_token = settings.telegram_bot_token
    channel = TelegramChannel(
        configured=bot_token is not None, username=settings.telegram_bot_username
    )
    sharing = Sharing(
        lists,
        tasks,
        channel,
        str(settings.public_url) if settings.public_url is not None else None,
        SharingLimits(
            members_per_list=settings.sharing_max_members_per_list,
            shared_lists_per_user=settings.sharing_max_lists_per_user,
        ),
    )
    groups = Groups(lists, sharing)
    # Delivery reports to the tasks service (a repeat moved on: the task shows its next
    # time); a group's list sends its reminders to the group.
    reminders = ReminderDelivery(
        delivery_settings,
        wall,
        events=tasks,
        groups=groups,
        prefs=reminder_prefs,
        wakeup=wakeup,
        claims=claims,
    )
    accounts = Accounts(
        auth,
        sessions,
        gate,
        users,
        limiter,
        updates,
        # Sharing first: a deleted account's shared lists go to a member before its lists go.
        data_owners=[sharing, tasks, DataLinks(), notices, *data_owners],
        per_user_limits=(limits.login_per_username, recovery_limits.forgot_per_username),
        fresh_max_age=settings.fresh_confirmation_max_age,
    )
    feeds = CalendarFeeds(lists, limiter)
    profiles = Profiles(
        users,
        limiter,
        UsernameLimits(
            per_user=Limit(
                "username-user",
                settings.username_change_max_per_user,
                settings.username_change_window,
            ),
            per_address=Limit(
                "username-addr",
                settings.username_change_max_per_address,
                settings.username_change_window,
            ),
        ),
    )
    return Services(
        passwords=passwords,
        access=access,
        auth=auth,
        users=users,
        updates=updates,
        lists=lists,
        tasks=tasks,
        gate=gate,
        sessions=sessions,
        accounts=accounts,
        recovery=PasswordRecovery(
            accounts,
            users,
            limiter,
            recovery_limits,
            channel,
            # Reset codes are stored as HMACs under a key of their own, derived from the JWT
            # secret: a database leak alone does not reveal them.
            code_key=hmac.new(settings.jwt_key, b"password-reset-code", hashlib.sha256).digest(),
        ),
        linking=TelegramLinking(accounts, users, gate, channel),
        widget=WidgetSignIn(
            auth,
            users,
            limiter,
            limits.telegram_per_address,
            None
            if bot_token is None
            else WidgetVerifier(bot_token.get_secret_value(), settings.telegram_widget_max_age),
            max_age=settings.telegram_widget_max_age,
        ),
        admin=Admin(users, sessions, gate),
        telegram=channel,
        sharing=sharing,
        groups=groups,
        notices=notices,
        reminders=reminders,
        planning=planning,
        reminder_prefs=reminder_prefs,
        profiles=profiles,
        drafts=ReminderDrafts(),
        feeds=feeds,
        exporter=Exporter(users, lists, reminder_prefs, sessions, feeds, sharing=sharing),
        importer=Importer(lists, tasks, profiles.update),
        questions=Questions(),
    )


def _init_data_verifier(settings: Settings) -> InitDataVerifier | None:
    if settings.telegram_bot_token is None:
        return None
    return InitDataVerifier(
        settings.telegram_bot_token.get_secret_value(), settings.init_data_max_age
    )


def _auth_limits(settings: Settings) -> AuthLimits:
    return AuthLimits(
        login_per_username_and_address=Limit(
            "login-user-addr",
            settings.login_max_failures_per_username_and_address,
            settings.login_window,
        ),
        login_per_username=Limit(
            "login-user", settings.login_max_failures_per_username, settings.login_window
        ),
        login_per_address=Limit(
            "login-addr", settings.login_max_failures_per_address, settings.login_window
        ),
        register_per_address=Limit(
            "register-addr", settings.register_max_per_address, settings.register_window
        ),
        telegram_per_address=Limit(
            "telegram-addr",
            settings.telegram_sign_in_max_per_address,
            settings.telegram_sign_in_window,
        ),
    )


def _delivery_settings(settings: Settings) -> DeliverySettings:
    return DeliverySettings(
        send_rate=settings.reminder_send_rate,
        chat_interval=settings.reminder_chat_interval,
        lease=settings.reminder_lease,
        workers=settings.reminder_workers,
        poll=settings.reminder_poll,
        late_after=settings.reminder_late_after,
        repeat_min_gap=settings.repeat_min_interval,
    )

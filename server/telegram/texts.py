"""What the bot says, in Russian and English."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "ru"]

COMMANDS: dict[Lang, list[tuple[str, str]]] = {
    "en": [
        ("start", "Register and say hello"),
        ("help", "What I can do"),
        ("me", "Your account"),
    ],
    "ru": [
        ("start", "Регистрация и приветствие"),
        ("help", "Что я умею"),
        ("me", "Ваш аккаунт"),
    ],
}

# The default menu button is the same for every user, so it has one text.
MENU_BUTTON = "Tasks"

TEXTS: dict[Lang, dict[str, str]] = {
    "en": {
        "welcome": "Hello, {name}! You are registered. Send /help to see what I can do.",
        "welcome_back": "Welcome back, {name}! Send /help to see what I can do.",
        "help": (
            "I am your assistant.\n"
            "/start: register and say hello\n"
            "/me: your account as I know it\n"
            "/help: this message"
        ),
        "help_app": (
            "Your lists are also in the app: tap the “Tasks” button next to the message field, "
            "or open {url} in a browser."
        ),
        "me": (
            "Your account\n"
            "ID: {id}\n"
            "Telegram ID: {telegram_id}\n"
            "Username: {username}\n"
            "Password sign-in: {password}\n"
            "Since: {created}"
        ),
        "yes": "yes",
        "no": "no",
        "none": "none",
        "not_registered": "I don't know you yet. Send /start first.",
        "error": "Sorry, something went wrong. Please try again later.",
    },
    "ru": {
        "welcome": (
            "Привет, {name}! Вы зарегистрированы. Отправьте /help, чтобы узнать, что я умею."
        ),
        "welcome_back": "С возвращением, {name}! Отправьте /help, чтобы узнать, что я умею.",
        "help": (
            "Я ваш ассистент.\n"
            "/start: регистрация и приветствие\n"
            "/me: ваш аккаунт\n"
            "/help: это сообщение"
        ),
        "help_app": (
            "Списки есть и в приложении: нажмите кнопку «Tasks» рядом с полем ввода "
            "или откройте {url} в браузере."
        ),
        "me": (
            "Ваш аккаунт\n"
            "ID: {id}\n"
            "Telegram ID: {telegram_id}\n"
            "Имя пользователя: {username}\n"
            "Вход по паролю: {password}\n"
            "С нами с: {created}"
        ),
        "yes": "да",
        "no": "нет",
        "none": "нет",
        "not_registered": "Я вас ещё не знаю. Сначала отправьте /start.",
        "error": "Извините, что-то пошло не так. Попробуйте позже.",
    },
}


def language(language_code: str | None) -> Lang:
    return "ru" if (language_code or "").lower().startswith("ru") else "en"


def text(lang: Lang, key: str, **values: object) -> str:
    return TEXTS[lang][key].format(**values)

"""The architecture's import rules (README.md, "Architecture"), checked on the source: adapters
never import each other; services import no adapter, no web or bot framework and no config;
models know nothing above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> import prefixes it must not use
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "server/api": ("server.telegram", "server.auth.middleware", "server.bootstrap", "server.app"),
    "server/auth": ("server.api", "server.telegram", "server.bootstrap", "server.app"),
    "server/telegram": ("server.api", "server.auth", "server.bootstrap", "server.app"),
    "server/services": (
        "config", "server.api", "server.telegram", "server.auth", "server.http", "server.keys",
        "server.bootstrap", "server.app", "aiohttp", "telegram",
    ),
    # App-wide pieces serve every adapter and import none of them.
    "server/http": (
        "server.api", "server.telegram", "server.auth", "server.bootstrap", "server.app",
    ),
    "server/observability": (
        "server.api", "server.telegram", "server.auth", "server.services", "server.bootstrap",
        "server.app",
    ),
    # What every feature uses depends on no feature.
    "server/services/common": (
        "server.services.accounts", "server.services.tasks", "server.services.reminders",
    ),
    "server/services/dates": (
        "server.services.accounts", "server.services.tasks", "server.services.reminders",
    ),
    "models": ("server", "config", "aiohttp", "telegram"),
}  # fmt: skip


def imports_of(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imports_of(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package])
    ]
    assert not broken, "\n".join(broken)


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from server.api.problems import Problem\nimport config\n")
    assert imports_of(module) == ["server.api.problems", "config"]


# Reminders' rooms (docs/reminders.md, "Who owns what"): planning and preferences never send,
# delivery never plans; the seam with the tasks service is port.py.
REMINDER_ROOMS: dict[str, tuple[str, ...]] = {
    "planning.py": (
        "server.services.reminders.delivery", "server.services.reminders.claims",
        "server.services.reminders.reachability", "server.services.tasks",
    ),
    "preferences.py": (
        "server.services.reminders.delivery", "server.services.reminders.claims",
        "server.services.reminders.planning", "server.services.tasks",
    ),
    "delivery.py": ("server.services.reminders.planning", "server.services.tasks"),
    "store.py": ("server.services.reminders.",),  # the bottom: imports no other room
    "claim_store.py": ("server.services.reminders.",),  # the store's claims part: the same
}  # fmt: skip
REMINDERS = ROOT / "server/services/reminders"
# The models of the collections only the reminder store (server/services/reminders/store.py and
# its claims part, claim_store.py) may query.
REMINDER_MODELS = {"Reminder", "ReminderChat", "ReminderPrefs"}


@pytest.mark.parametrize("module", sorted(REMINDER_ROOMS))
def test_a_reminder_room_imports_only_what_it_may(module: str) -> None:
    names = imports_of(REMINDERS / module)
    broken = [n for n in names if any(n.startswith(bad) for bad in REMINDER_ROOMS[module])]
    assert not broken, f"{module} imports {broken}"


def model_calls(path: Path) -> list[str]:
    """`Model.method(...)` calls on the reminder models (their collection, beanie's finders)."""
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.func.value.id}.{node.func.attr}"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in REMINDER_MODELS
    ]


def test_only_the_reminder_store_queries_the_reminder_collections() -> None:
    store = {REMINDERS / "store.py", REMINDERS / "claim_store.py"}
    assert all(model_calls(path) for path in store), "the store's calls are what this looks for"
    broken = [
        call
        for path in sorted((ROOT / "server").rglob("*.py"))
        if path not in store
        for call in model_calls(path)
    ]
    assert not broken, "\n".join(broken)

"""The list of common passwords refused at registration: zxcvbn's 30,000 most used ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def load_common_passwords() -> frozenset[str]:
    """Read only zxcvbn's password list. Importing the `zxcvbn` package would also build its
    matchers over all its word lists (~16 MB kept for the life of the process), and the
    password list is all that is needed here."""
    spec = importlib.util.find_spec("zxcvbn")  # locates the package without importing it
    assert spec is not None
    assert spec.submodule_search_locations is not None
    path = Path(next(iter(spec.submodule_search_locations))) / "frequency_lists.py"
    module_spec = importlib.util.spec_from_file_location("_zxcvbn_frequency_lists", path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)  # not put in sys.modules: freed
    module_spec.loader.exec_module(module)
    return frozenset(password.lower() for password in module.FREQUENCY_LISTS["passwords"])

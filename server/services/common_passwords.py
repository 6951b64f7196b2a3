"""The list of common passwords refused at registration: zxcvbn's 30,000 most used ones."""

from __future__ import annotations

import sys


def load_common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    common = frozenset(password.lower() for password in FREQUENCY_LISTS["passwords"])
    # Only this list is needed; dropping the module frees zxcvbn's other word lists (~15 MB).
    del FREQUENCY_LISTS
    sys.modules.pop("zxcvbn.frequency_lists", None)
    return common

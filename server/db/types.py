"""The raw document type the PyMongo client is parameterised with."""

from typing import Any

Document = dict[str, Any]

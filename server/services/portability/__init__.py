"""A user's data, everywhere: the private calendar feed (feed.py), "download my data"
(export.py) and import (importer.py). docs/data.md describes them."""

"""The Mini App's static files are package data: a non-editable install must carry them all."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from server.miniapp.routes import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_every_static_file_is_declared_as_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["server.miniapp"]
    package = STATIC_DIR.parent
    files = [p.relative_to(package).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert "static/index.html" in files
    missing = [f for f in files if not any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    assert missing == [], f"add to [tool.setuptools.package-data]: {missing}"

"""The embedded database process: one per DATA_DIR, a crash's leftovers cleared."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server.db.embedded import EmbeddedMongo
from server.errors import StartupError
from tests.process import child_env

ROOT = Path(__file__).resolve().parents[2]


def migrate(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`python -m server migrate` with the embedded database in `data_dir`."""
    return subprocess.run(
        [sys.executable, "-m", "server", "migrate"],
        cwd=ROOT,
        env=child_env(PATH="/usr/bin:/bin", DATA_DIR=str(data_dir)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_second_server_on_the_same_data_dir_is_refused(tmp_path):
    first = EmbeddedMongo(tmp_path)
    first.start()
    try:
        with pytest.raises(StartupError, match="another embedded database"):
            EmbeddedMongo(tmp_path).start()
    finally:
        first.stop()
    second = EmbeddedMongo(tmp_path)  # once the first has stopped, the files are free
    second.start()
    second.stop()


@pytest.mark.parametrize("left_over", ["999999999", "", "not-a-pid"])
def test_a_stale_pid_file_from_a_crash_is_cleared(tmp_path, left_over):
    pid_file = tmp_path / "nx-27017.pid"
    pid_file.write_text(left_over)  # no such process, or a file cut short by the crash
    server = EmbeddedMongo(tmp_path)
    server.start()
    try:
        assert server._process is not None
        assert pid_file.read_text().strip() == str(server._process.pid)  # the new server's
        with socket.create_connection((server.host, server.port), timeout=5):
            pass
    finally:
        server.stop()
    assert server._process is None


def test_the_cli_reports_a_start_up_failure_in_one_line(tmp_path):
    first = EmbeddedMongo(tmp_path)
    first.start()
    try:
        result = migrate(tmp_path)
    finally:
        first.stop()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: another embedded database")
    assert "Traceback" not in result.stderr


def test_migrate_builds_the_indexes_and_exits(tmp_path):
    result = migrate(tmp_path)  # the Procfile's release step
    assert result.returncode == 0, result.stderr
    assert "indexes are in place" in result.stderr
    assert "embedded nx-27017 stopped" in result.stderr  # it cleans up after itself

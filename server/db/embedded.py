"""The embedded MongoDB wire server (nx-27017 on SQLite), run as a child process.

It is for one developer's machine: its port has no authentication, so it listens on loopback
only, its files are private to the user (directories 0700, files 0600), and the app refuses
to use it when it would itself listen beyond loopback.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from server.errors import StartupError

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
PRIVATE_UMASK = 0o077  # what the child creates: 0700 directories, 0600 files


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another name: it may resolve to anything


def make_private(directory: Path) -> None:
    """Create `directory` (0700) or take group and world access away from it and from what it
    holds (directories 0700, files 0600): files an older version left readable by all."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            _chmod(Path(root, name), 0o700)
        for name in files:
            _chmod(Path(root, name), 0o600)


def _chmod(path: Path, mode: int) -> None:
    if path.is_symlink():
        return  # chmod would follow it to a file that is not ours to change
    try:
        path.chmod(mode)
    except PermissionError:
        log.warning("cannot make %s private (0%o): not owned by this user", path, mode)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedMongo:
    """Start nx-27017 on a loopback port with its files in `data_dir`; stop it cleanly."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        if not is_loopback(host):
            raise StartupError(f"the embedded database listens on loopback only, not {host}")
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> None:
        """Blocking: returns once the server accepts connections (call it in a thread)."""
        make_private(self.data_dir)
        db_dir = self.data_dir / "db"
        db_dir.mkdir(mode=0o700, exist_ok=True)
        command = [
            sys.executable, "-m", "server.db.nx_runner", str(os.getpid()),
            "--data-dir", str(db_dir),
            "--host", self.host,
            "--port", str(self.port),
            "--log-file", os.devnull,  # its warnings go to stderr, which goes to our log file
            "--pid-file", str(self.data_dir / "nx-27017.pid"),
        ]  # fmt: skip
        self._take_pid_file(self.data_dir / "nx-27017.pid")
        log_path = self.data_dir / "nx-27017.log"
        log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(log_fd, "ab") as log_file:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                cwd=Path(__file__).resolve().parents[2],
                # Its own process group: a terminal's Ctrl-C reaches only the app, which stops
                # the database after its last request, not in the middle of one.
                start_new_session=True,
                umask=PRIVATE_UMASK,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise StartupError(f"embedded MongoDB exited at start: {' | '.join(tail)}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise StartupError(f"embedded MongoDB did not listen on {self.uri} in {START_TIMEOUT}s")

    @staticmethod
    def _take_pid_file(pid_file: Path) -> None:
        """Refuse to share DATA_DIR with a running embedded server; clear a crash's leftover
        (nx-27017 refuses to start over a pid file, even a stale one)."""
        try:
            pid = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid_file.unlink(missing_ok=True)
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            pid_file.unlink(missing_ok=True)
            return
        except PermissionError:
            pass  # alive, someone else's
        raise StartupError(
            f"another embedded database (pid {pid}) runs on {pid_file.parent}; stop it, "
            "or use another DATA_DIR or MONGODB_URI"
        )

    def stop(self) -> None:
        """Blocking: SIGTERM, wait, then SIGKILL as the last resort."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("embedded MongoDB ignored SIGTERM for %ss; killing it", STOP_TIMEOUT)
            process.kill()
            process.wait()

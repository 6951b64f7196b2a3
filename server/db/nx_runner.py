"""Child-process entry point for the embedded nx-27017 server.

Run as `python -m server.db.nx_runner <parent-pid> <nx-27017 args…>`. It quiets nx-27017's
per-command INFO logging (one line per query costs time and fills the disk), purges expired
documents once a minute instead of before every query, and makes the server die with its
parent, so a `kill -9` of the app never leaves an orphan holding the database files.
"""

import ctypes
import logging
import os
import signal
import sys
import threading
import time

TTL_PURGE_INTERVAL = 60.0  # seconds, like MongoDB's TTL monitor


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
    # The parent may have died before prctl took effect; and non-Linux needs the watch anyway.

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    if os.getppid() != parent_pid:
        sys.exit(0)
    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _throttle_ttl_purge(interval: float = TTL_PURGE_INTERVAL) -> None:
    """neosqlite purges expired documents before every read and write of a collection with a
    TTL index: two full-table deletes per query, which made each query ~10x slower as the
    tables grew. MongoDB's TTL monitor runs once a minute; so does this one now. (The app
    never relies on expiry for correctness: it checks `expires_at` itself.)"""
    from neosqlite.collection import Collection

    purge = Collection._auto_purge_ttl
    last_run: dict[tuple[int, str], float] = {}

    def throttled(collection: Collection) -> None:
        key = (id(collection.database), collection.name)
        now = time.monotonic()
        if now - last_run.get(key, -interval) >= interval:
            last_run[key] = now
            purge(collection)

    Collection._auto_purge_ttl = throttled


def main() -> None:
    parent_pid = int(sys.argv[1])
    sys.argv = ["nx-27017", *sys.argv[2:]]
    _die_with_parent(parent_pid)
    _throttle_ttl_purge()
    # basicConfig here makes nx-27017's own basicConfig a no-op; WARNING keeps real problems.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    for name in ("nx_27017", "neosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from nx_27017.nx_27017 import main as nx_main

    nx_main()


if __name__ == "__main__":
    main()

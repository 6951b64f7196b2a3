"""Child-process entry point for the embedded nx-27017 server.

Run as `python -m server.db.nx_runner <parent-pid> <nx-27017 args…>`. It quiets nx-27017's
per-command INFO logging (one line per query costs time and fills the disk) and makes the
server die with its parent, so a `kill -9` of the app never leaves an orphan holding the
database files.
"""

import ctypes
import logging
import os
import signal
import sys
import threading
import time


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


def main() -> None:
    parent_pid = int(sys.argv[1])
    sys.argv = ["nx-27017", *sys.argv[2:]]
    _die_with_parent(parent_pid)
    # basicConfig here makes nx-27017's own basicConfig a no-op; WARNING keeps real problems.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    for name in ("nx_27017", "neosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from nx_27017.nx_27017 import main as nx_main

    nx_main()


if __name__ == "__main__":
    main()

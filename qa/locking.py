"""One writer per index: an advisory lock on `<index>.lock`, beside the index folder.

The lock is a `flock` on an open file, so the kernel releases it when the holder exits, however
it exits: a build killed with SIGKILL leaves no stale lock behind, only a file naming the dead
holder, which the next build overwrites (and the unfinished `<index>.new` folder, which it removes).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import BuildRunningError

POLL_SECONDS = 0.2


def lock_path(index_dir: Path) -> Path:
    """Where the lock of the index at `index_dir` lives (a sibling: the folder itself is swapped)."""
    index_dir = Path(index_dir)
    return index_dir.with_name(index_dir.name + ".lock")


def lock_holder(index_dir: Path) -> dict:
    """What the lock file says about its last holder ({} when nothing is known)."""
    try:
        holder = json.loads(lock_path(index_dir).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    parts = [f"pid {holder['pid']}" if "pid" in holder else "", f"started {holder['started']}" if "started" in holder
             else "", holder.get("what", "")]
    return ", ".join(p for p in parts if p) or "holder unknown"


@contextmanager
def index_lock(index_dir: Path, what: str = "qa build", wait: bool = True,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index's writer lock for the block. A second writer waits (calling `on_wait` once
    with a description of the holder) or, with wait=False, raises BuildRunningError."""
    path = lock_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _describe(lock_holder(index_dir))
                if not wait:
                    raise BuildRunningError(
                        f"another build of {index_dir} is running ({holder}): wait for it to finish, "
                        "or run again without --no-wait to wait for it") from None
                if on_wait and not told:
                    on_wait(holder)
                    told = True
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "what": what,
                                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)

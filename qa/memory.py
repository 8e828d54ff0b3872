"""glibc's heap, told how a long-running process uses it (nothing happens off glibc)."""
from __future__ import annotations

import ctypes


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def cap_malloc_arenas(arenas: int = 2) -> None:
    """Let the process's threads share `arenas` malloc heaps. glibc gives threads that allocate at once
    heaps of their own (up to 8 per core) and keeps what they freed: the page answering 16 users on
    its threads grew by 330 MB that way; with 2 (MALLOC_ARENA_MAX=2, as many Python servers set) its
    peak stayed near 1 GB. Call it before the server's threads start."""
    M_ARENA_MAX = -8  # glibc's malloc.h
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(M_ARENA_MAX, arenas)


def give_back_freed_memory() -> None:
    """Return the heap's free pages to the system (`malloc_trim`). glibc keeps what a process freed
    for its next allocations; after a one-off load that freed large temporaries (the reader's: about
    70 MB of unpacked weights and conversions) nothing would ask for them again."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)

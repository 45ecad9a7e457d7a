"""Keeps Numba's on-disk cache of the CPU kernels from serving machine code built from older sources.

Numba validates a cached kernel by its own file's timestamp and size, the CPU and its bytecode, but not by
the modules it inlines: after an edit to _common.py (activations, threading), gemm.py (panel layout, tiles),
isa.py or workspace.py (the alignment the product buffers take) alone, every kernel file is unchanged, and
the old code would run against the new panel layout (wrong numbers, seen once as a max relative difference
of 1.0). So the caches that hold kernels using these modules carry a stamp of their sources; on import, a
cache whose stamp differs is emptied and recompiles.
"""
import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
SOURCES = ("_common.py", "gemm.py", "isa.py", "workspace.py")
STAMP = "rnnbench-kernel-sources.sha256"


def sources_digest():
    """SHA-256 of the shared modules every CPU kernel inlines."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update((_HERE / name).read_bytes())
    return h.hexdigest()


def drop_stale(dispatcher):
    """Empty the on-disk cache directory of `dispatcher` (a cache=True njit function) if it was filled from
    other versions of SOURCES, then stamp it. Safe to race: every process computes the same stamp, and a
    file removed under another process only makes it compile again."""
    try:
        cache_dir = Path(dispatcher._cache._cache_path)      # where Numba keeps this function's index
    except AttributeError:                                   # no cache (caching disabled)
        return
    digest = sources_digest()
    stamp = cache_dir / STAMP
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for f in cache_dir.glob("*.nb[ic]"):
            f.unlink(missing_ok=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{STAMP}.{os.getpid()}"
        tmp.write_text(digest)
        os.replace(tmp, stamp)
    except OSError:       # a read-only install: Numba then compiles in memory as it does without a cache
        pass

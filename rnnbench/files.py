"""Atomic files: write a temp file, fsync it, rename it over its name, so a reader never sees half a file.

    atomic_write("runs/x/status.json", lambda f: f.write(b"..."))     # temp file beside the target
    atomic_write(target, write, tmp_dir=claim_dir)                     # temp file in a claim's own folder
    atomic_write_text("out/bench.csv", lambda f: csv.writer(f).writerows(rows))     # a text writer (UTF-8)
    write_json(path, obj); read_json(path)

read_json refuses a symbolic link: the store reads only files it wrote itself.
"""
import io
import json
import os
import uuid
from pathlib import Path


def atomic_write(path, write, *, tmp_dir=None):
    """Write `path` by calling write(binary_file) on a temp file, fsync, then rename it over `path`.

    tmp_dir (default: path's folder) must be on the same filesystem. The rename is the commit: when tmp_dir
    has been renamed away meanwhile (a claim fenced off by another process) it fails with FileNotFoundError
    and `path` is untouched."""
    path = Path(path)
    tmp = Path(tmp_dir or path.parent) / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path, write, *, tmp_dir=None):
    """atomic_write with write(text_file): UTF-8, line endings as written (newline="", as csv wants)."""
    def binary(f):
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        try:
            write(text)
            text.flush()
        finally:
            text.detach()       # leave the binary file open for atomic_write's fsync
    atomic_write(path, binary, tmp_dir=tmp_dir)


def fsync_dir(path):
    """Make renames inside `path` durable across a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def json_bytes(obj):
    return json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n"


def write_json(path, obj, *, tmp_dir=None):
    atomic_write(path, lambda f: f.write(json_bytes(obj)), tmp_dir=tmp_dir)


def read_bytes(path):
    """The bytes of a regular file; OSError for a symbolic link (never followed) or anything else."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read()


def read_json(path):
    return json.loads(read_bytes(path))

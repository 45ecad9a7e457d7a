"""Checks of the paths a command will write or read, made before it does any work: one InputError each.

    out = check_dir(args.out, "--out")            # a folder to write into (made later, with its parents)
    csv = check_file(args.out, "--out")           # a file to write: its folder must exist
    root = check_existing_dir(args.store, "--store")    # a folder to read

Writable means a file can be created there: a probe file is made and removed, since permission bits do not
tell (root passes every access() test, and /proc or a read-only mount refuse writes anyway).
"""
import os
import uuid
from pathlib import Path

from rnnbench.errors import InputError


def _path(path, flag):
    if path is None or str(path) == "":
        raise InputError(f"{flag} is empty; give a path")
    return Path(path)


def _kind(path, flag):
    """'dir', 'file', 'other' or None (missing); InputError when it cannot be looked at."""
    try:
        if not path.exists():
            return None
        return "dir" if path.is_dir() else "file" if path.is_file() else "other"
    except OSError as e:
        raise InputError(f"{flag} {str(path)!r}: cannot look at it ({e.strerror})") from None


def _writable(folder, flag, path):
    probe = folder / f".rnnbench-probe-{uuid.uuid4().hex[:12]}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as e:
        raise InputError(f"{flag} {str(path)!r}: cannot create files in {str(folder)!r} "
                         f"({e.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_dir(path, flag, *, write=True):
    """A folder to write into: an existing writable folder, or a missing one whose nearest existing
    ancestor is a writable folder (it is created later, when there is something to write)."""
    path = _path(path, flag)
    kind = _kind(path, flag)
    if kind is None:
        ancestor = Path(os.path.abspath(path)).parent
        while _kind(ancestor, flag) is None:
            ancestor = ancestor.parent
        if _kind(ancestor, flag) != "dir":
            raise InputError(f"{flag} {str(path)!r}: {str(ancestor)!r} is not a directory")
        if write:
            _writable(ancestor, flag, path)
    elif kind != "dir":
        raise InputError(f"{flag} {str(path)!r} exists and is not a directory")
    elif write:
        _writable(path, flag, path)
    return path


def check_file(path, flag):
    """A file to write (replaced whole): not a folder, in an existing writable folder."""
    path = _path(path, flag)
    kind = _kind(path, flag)
    if kind == "dir":
        raise InputError(f"{flag} {str(path)!r} is a directory; give a file name")
    if kind == "other":
        raise InputError(f"{flag} {str(path)!r} exists and is not a regular file")
    folder = Path(os.path.abspath(path)).parent
    if _kind(folder, flag) != "dir":
        raise InputError(f"{flag} {str(path)!r}: its folder {str(folder)!r} does not exist")
    _writable(folder, flag, path)
    return path


def check_existing_dir(path, flag):
    """A folder to read: it must exist and be listable."""
    path = _path(path, flag)
    kind = _kind(path, flag)
    if kind is None:
        raise InputError(f"{flag} {str(path)!r} does not exist")
    if kind != "dir":
        raise InputError(f"{flag} {str(path)!r} is not a directory")
    try:
        os.listdir(path)
    except OSError as e:
        raise InputError(f"{flag} {str(path)!r}: cannot read it ({e.strerror})") from None
    return path

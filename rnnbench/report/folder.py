"""The report folder: it holds only what `rnnbench report` wrote, and is replaced whole or not at all.

    out = check_out("reports/mine", store_root="runs")      # InputError before any work
    with replacing(out) as tmp:                              # build the report in tmp, beside out
        ...                                                  # on success tmp becomes out

A report folder lists its files in MANIFEST. --out must be missing, empty, or a folder holding only the
files its manifest lists; never the store itself or a folder that holds the store. The new report is
built in a hidden folder beside --out and swapped in by one atomic exchange (Linux renameat2; elsewhere
two renames, and the next report puts the old folder back if a kill fell between them): a kill leaves the
old report or the new one. Hidden folders left by killed report steps are removed by the next one.
"""
import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

from rnnbench.claim import pid_alive
from rnnbench.errors import InputError
from rnnbench.paths import check_dir

MANIFEST = ".rnnbench-report.json"


def _temp_name(out, kind):
    return out.with_name(f".{out.name}.rnnbench-{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _leftovers(out, kind):
    """Hidden folders beside `out` of report steps whose process is gone."""
    pattern = re.compile(re.escape(f".{out.name}.rnnbench-{kind}-") + r"(\d+)-[0-9a-f]{8}")
    try:
        entries = list(out.parent.iterdir())
    except FileNotFoundError:
        return []
    return [p for p in entries if (m := pattern.fullmatch(p.name)) and not pid_alive(int(m[1]))]


def _foreign(out):
    """The first entry of folder `out` that its manifest does not list, or None."""
    try:
        listed = set(json.loads((out / MANIFEST).read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        listed = set()
    for top, dirs, files in os.walk(out):
        for name in sorted(dirs + files):
            path = Path(top) / name
            rel = path.relative_to(out).as_posix()
            if name == MANIFEST and top == str(out):
                continue
            if path.is_symlink() or (name in files and rel not in listed) or \
                    (name in dirs and not any(f.startswith(rel + "/") for f in listed)):
                return rel
    return None


def check_out(out_dir, store_root=None, flag="--out"):
    """InputError unless `out_dir` may be replaced by a report (see the module docstring) -> Path."""
    out = check_dir(out_dir, flag)
    if store_root is not None:
        store, target = Path(store_root).resolve(), out.resolve()
        if target == store or target in store.parents:
            raise InputError(f"{flag} {str(out_dir)!r} is the run store or holds it, and a report replaces "
                             f"its folder whole; choose a folder outside the store")
    _restore(out)
    if out.is_dir():
        foreign = _foreign(out)
        if foreign is not None:
            raise InputError(f"{flag} {str(out_dir)!r} holds {foreign!r}, which rnnbench report did not "
                             f"write; choose a new or empty folder")
    return out


def _restore(out):
    """Put back an old report that a kill left renamed away (two-rename swap), and drop dead temp folders."""
    if not out.exists():
        for old in _leftovers(out, "old"):
            os.rename(old, out)
            break
    for path in _leftovers(out, "new") + _leftovers(out, "old"):
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a, b):
    """Swap paths a and b in one step (Linux renameat2 RENAME_EXCHANGE) -> False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def replacing(out):
    """Yield a new hidden folder beside `out` to build the report in; on success write its manifest and
    swap it in for `out`. Folders are made with the user's umask (readable by others, as other output)."""
    out = out.resolve() if out.is_symlink() else out      # a link to a report folder: replace what it names
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(out, "new")
    tmp.mkdir()
    try:
        yield tmp
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        (tmp / MANIFEST).write_text(json.dumps({"written_by": "rnnbench report", "files": files}, indent=1))
        foreign = _foreign(out) if out.is_dir() else None
        if foreign is not None:     # someone wrote into it while the report was being built
            raise InputError(f"{str(out)!r} now holds {foreign!r}, which rnnbench report did not write; "
                             f"the new report was not written")
        if not out.exists():
            os.rename(tmp, out)
        elif out.is_dir() and not any(out.iterdir()):
            os.rename(tmp, out)         # rename replaces an empty folder
        elif _exchange(tmp, out):
            shutil.rmtree(tmp)          # now the old report
        else:
            old = _temp_name(out, "old")
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

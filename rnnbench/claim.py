"""Fenced claims: at most one process writes a run directory's files, across pauses, hosts and clock skew.

    claim = Claim(run_dir)
    if claim.acquire():                  # False: another live process holds it (claim.wait_released() waits)
        claim.write("status.json", lambda f: f.write(data))    # ClaimLost once another process took over
        claim.release()

Inside the run directory:
    lock               a hard link to the owner's .claim.<token>/owner: {"host", "pid", "token"}
    .claim.<token>/    the owner's own folder: owner, beat (its heartbeat counter) and the temp file of every
                       write

acquire() writes its owner file, then links it to `lock`: the link fails when a lock exists, so a lock is
created whole or not at all (also on NFS; the store's filesystem must support hard links). The new owner then
fences off every other .claim.* folder by renaming it away. Every write checks that `lock` still names its
owner and then renames a temp file out of the owner's folder into place; once the folder has been fenced off
that rename fails, so no write of a process that lost its claim lands, however long it was paused and wherever
it paused.

Staleness compares no clocks of different hosts and no file mtimes: the owner's heartbeat thread bumps its
beat counter every min(5, STALE_S / 4) seconds, and a waiting process takes over when neither `lock` nor the
beat changed for STALE_S seconds of its own monotonic clock, or at once when the owner is a dead process on
this host. RNNBENCH_STALE_S (default 120) sets STALE_S.
"""
import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import NamedTuple, Optional

from rnnbench.errors import InputError
from rnnbench.files import atomic_write, read_bytes

STALE_S = 120.0      # default: no heartbeat seen for this long -> the owner is dead or cut off
GARBAGE_S = 5.0      # an unreadable lock unchanged for this long (or STALE_S if shorter) is taken over
_TOKEN = re.compile(r"[0-9a-f]{32}")


class ClaimLost(Exception):
    """Another process took this run over (this one was paused or cut off longer than the stale timeout)."""


def stale_seconds():
    """STALE_S, or RNNBENCH_STALE_S from the environment (InputError when it is not a positive number)."""
    text = os.environ.get("RNNBENCH_STALE_S")
    if text is None:
        return STALE_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise InputError(f"RNNBENCH_STALE_S must be a positive number of seconds, got {text!r}")
    return value


def pid_alive(pid):
    """Whether process `pid` of this host is alive (a zombie nobody reaped yet counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return True


class Seen(NamedTuple):
    """One look at a run's lock: its bytes (None: no lock), its owner (None: unreadable) and the beat."""
    lock: Optional[bytes]
    owner: Optional[dict]
    beat: Optional[bytes]

    @property
    def dead_here(self):
        """The owner is a process of this host that no longer exists: stale at once."""
        return (self.owner is not None and self.owner["host"] == socket.gethostname()
                and not pid_alive(self.owner["pid"]))


def _parse_owner(blob):
    try:
        owner = json.loads(blob)
    except ValueError:
        return None
    if not (isinstance(owner, dict) and isinstance(owner.get("host"), str)
            and isinstance(owner.get("token"), str)
            and _TOKEN.fullmatch(owner["token"]) and type(owner.get("pid")) is int and owner["pid"] > 0):
        return None
    return owner


def look(run_dir):
    """The run's lock as it is now (a lock that is a folder, a link or garbage has owner None)."""
    run_dir = Path(run_dir)
    try:
        blob = read_bytes(run_dir / "lock")
    except FileNotFoundError:
        return Seen(None, None, None)
    except OSError as e:                       # a folder or a symbolic link where the lock should be
        return Seen(f"unreadable: {e.errno}".encode(), None, None)
    owner = _parse_owner(blob)
    beat = None
    if owner is not None:
        try:
            beat = read_bytes(run_dir / f".claim.{owner['token']}" / "beat")
        except OSError:
            pass
    return Seen(blob, owner, beat)


def _remove(path):
    """Delete a file, link or folder tree; gone already is fine."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _fence(path):
    """Rename a claim folder away (after which its owner can commit nothing), then delete it."""
    grave = path.with_name(f".fenced.{uuid.uuid4().hex}")
    try:
        os.rename(path, grave)
    except FileNotFoundError:
        return
    _remove(grave)


class Claim:
    """An exclusive, fenced claim on one run directory (see the module docstring)."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        self.lock = self.run_dir / "lock"
        token = uuid.uuid4().hex
        self.dir = self.run_dir / f".claim.{token}"
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": token}
        self._owner_bytes = json.dumps(self.owner).encode()
        self.stale_s = stale_seconds()
        self.heartbeat_s = min(5.0, self.stale_s / 4)
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = None

    # ------------------------------------------------------------ taking it

    def acquire(self):
        """True: this process holds the run now. False: another process holds it and is alive as far as
        can be told at once (a dead owner on this host is taken over here; others need wait_released)."""
        while True:
            self.dir.mkdir(exist_ok=True)
            try:
                (self.dir / "beat").write_bytes(b"0")
                (self.dir / "owner").write_bytes(self._owner_bytes)
                self._link()
            except FileNotFoundError:     # the owner we raced fenced our folder off while tidying: again
                continue
            except FileExistsError:
                _remove(self.dir)
                seen = look(self.run_dir)
                if seen.lock is None:
                    continue
                if seen.dead_here:
                    self._take_over(seen)
                    continue
                return False
            break
        for path in self.run_dir.iterdir():
            name = path.name
            if name.startswith(".claim.") and path != self.dir:
                _fence(path)          # the folder of an owner we replaced, or of a process killed acquiring
            elif name.startswith(".fenced.") or (name.startswith(".lock.") and name.endswith(".stale")):
                _remove(path)         # left by a process killed while fencing or taking over
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat {self.run_dir}")
        self._thread.start()
        return True

    def _link(self):
        """Create `lock` as a link to our owner file; FileExistsError when a lock exists."""
        try:
            os.link(self.dir / "owner", self.lock)
        except FileExistsError:
            # over NFS a retried link that did succeed can answer EEXIST: our file's link count tells
            if os.stat(self.dir / "owner").st_nlink != 2:
                raise

    def wait_released(self):
        """Block while another live process holds the claim; take a stale claim over. Returns when the lock
        is free (acquire() may still lose the race for it to a third process)."""
        poll = min(0.5, self.stale_s / 8)
        last, since = None, time.monotonic()
        while True:
            seen = look(self.run_dir)
            if seen.lock is None:
                return
            if seen.dead_here:
                self._take_over(seen)
                return
            now = time.monotonic()
            if (seen.lock, seen.beat) != last:
                last, since = (seen.lock, seen.beat), now
            elif now - since >= (self.stale_s if seen.owner else min(GARBAGE_S, self.stale_s)):
                self._take_over(seen)
                return
            time.sleep(poll)

    def _take_over(self, seen):
        """Remove the stale lock `seen` (renamed first, so that of several processes taking over at once
        exactly one removes it) and fence its owner's folder off."""
        grave = self.run_dir / f".lock.{self.owner['token']}.stale"
        try:
            os.rename(self.lock, grave)
        except FileNotFoundError:
            return
        try:
            same = read_bytes(grave) == seen.lock
        except FileNotFoundError:
            return                    # an owner tidying up removed it: the lock is gone either way
        except OSError:
            same = seen.owner is None     # a folder or link: garbage both times
        if not same:
            # another process took it over between our look and our rename: give its lock back
            try:
                os.link(grave, self.lock)
            except OSError:
                pass
        elif seen.owner is not None:
            _fence(self.run_dir / f".claim.{seen.owner['token']}")
        _remove(grave)

    def _beat(self):
        count = 0
        while not self._stop.wait(self.heartbeat_s):
            count += 1
            try:
                tmp = self.dir / "beat.tmp"
                tmp.write_bytes(str(count).encode())
                os.replace(tmp, self.dir / "beat")
            except FileNotFoundError:        # our folder was fenced off: another process owns the run
                self._lost.set()
                return

    # ------------------------------------------------------------ holding it

    def check(self):
        """Raise ClaimLost when the heartbeat found our folder fenced off (no file access: cheap per step)."""
        if self._lost.is_set():
            raise ClaimLost(f"another process took over {self.run_dir}")

    def verify(self):
        """Raise ClaimLost unless this process still holds the claim."""
        self.check()
        try:
            held = read_bytes(self.lock) == self._owner_bytes and self.dir.is_dir()
        except OSError:
            held = False
        if not held:
            self._lost.set()
            raise ClaimLost(f"another process took over {self.run_dir}")

    def write(self, name, write):
        """Atomically write run_dir/name with write(binary_file), only while holding the claim."""
        self.verify()
        try:
            atomic_write(self.run_dir / name, write, tmp_dir=self.dir)
        except FileNotFoundError:
            if not self.dir.is_dir():         # fenced off between the check and the rename: nothing landed
                self._lost.set()
                raise ClaimLost(f"another process took over {self.run_dir}") from None
            raise

    def remove(self, name):
        """Delete run_dir/name, only while holding the claim."""
        self.verify()
        (self.run_dir / name).unlink(missing_ok=True)

    def release(self):
        """Stop the heartbeat, remove the lock if it is still ours, and our folder."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if read_bytes(self.lock) == self._owner_bytes:
                self.lock.unlink()
        except OSError:
            pass
        _remove(self.dir)

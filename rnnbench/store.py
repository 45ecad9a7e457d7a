"""The run store: one directory per training run, keyed by a hash of the run's normalized config.

    rid = execute(config, "runs/")          # trains unless already finished; resumes from a checkpoint
    load_runs("runs/"); load_metrics("runs/"); load_gradnorms("runs/")   # pandas DataFrames

Layout of store_root/<run_id>/:
    config.json        the normalized config (the run's identity)
    lock               claim of the process running it: {"host", "pid", "token"}; its mtime is a heartbeat
    checkpoint.pkl     latest training state, replaced every config["checkpoint_every"] steps
    metrics.parquet    one row per evaluation (written once, at the end of the run)
    gradnorms.parquet  one row per (step, layer, t) of the probe-batch gradient norms (same)
    status.json        {"status": "done"|"diverged"|"failed", "error", "step", "wall_time", "diverged_at",
                       "solved_at" (stop_when_solved, see rnnbench.train), "resumed_from" (checkpoint step
                       this process started from, or null)}, written last

Every file is written to a temp file in the same directory, fsynced and renamed over its name, so a reader
never sees half a file. A run is finished when status.json says "done" or "diverged"; such runs are never
rerun. A "failed" run is retried on the next execute (from its last checkpoint).
"""
import hashlib
import json
import os
import pickle
import socket
import threading
import time
import traceback
import uuid
from pathlib import Path

from rnnbench.errors import InputError

# Bump when a change to kernels, tasks or training changes the numbers a config produces: old runs then
# keep their ids and new ones get fresh ids instead of being mistaken for finished.
RESULTS_VERSION = 3    # 2: fused [x_t | h_{t-1}] product and packed micro-kernel (new rounding)
#                        3: divergence detection ends runs as diverged that used to end done (or failed)

FINISHED = ("done", "diverged")
HEARTBEAT_S = 5.0        # how often a running run touches its lock
STALE_S = 120.0          # a lock not touched for this long belongs to a dead or stuck process
POLL_S = 0.5             # how often a waiting process looks at someone else's lock
GARBAGE_S = 5.0          # a lock still unreadable after this long was left by a process killed creating it


def run_id(config):
    """The run's id: 16 hex digits of the SHA-256 of the normalized config and RESULTS_VERSION."""
    blob = json.dumps({"config": config, "results_version": RESULTS_VERSION},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- atomic files

def atomic_write(path, write):
    """Write `path` by calling write(binary_file) on a temp file beside it, fsync, then rename over it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path):
    # makes the rename itself durable across a power loss
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path, obj):
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n"))


def _read_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


def _write_parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    atomic_write(path, lambda f: pq.write_table(table, f))


class Checkpoint:
    """The checkpoint object train() expects: load() -> state | None, save(state) (atomic pickle)."""

    def __init__(self, path):
        self.path = Path(path)
        self.loaded = False

    def load(self):
        try:
            with open(self.path, "rb") as f:
                state = pickle.load(f)
        except FileNotFoundError:
            return None
        self.loaded = True
        return state

    def save(self, state):
        atomic_write(self.path, lambda f: pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL))


# ---------------------------------------------------------------- run claims

def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed process nobody has reaped yet still answers kill(pid, 0)
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return True


def _stale_lock(path):
    """The lock file's bytes when it belongs to nobody alive (dead local pid, no heartbeat for STALE_S,
    or never finished being written), else None (live owner, or no lock)."""
    try:
        age = time.time() - path.stat().st_mtime
        with open(path, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        return None
    try:
        owner = json.loads(blob)
    except ValueError:      # its creator is writing it this instant, or was killed doing so
        return blob if age > GARBAGE_S else None
    if age > STALE_S:
        return blob
    if owner.get("host") == socket.gethostname() and not _pid_alive(int(owner.get("pid", 0))):
        return blob
    return None


class Claim:
    """An exclusive claim on one run directory: an O_CREAT|O_EXCL lock file naming its owner, touched
    every HEARTBEAT_S seconds by a daemon thread while held. acquire() -> bool (False: a live owner has it);
    a stale lock (dead local pid, or no heartbeat for STALE_S) is taken over."""

    def __init__(self, run_dir):
        self.path = Path(run_dir) / "lock"
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
        self._stop = threading.Event()
        self._thread = None

    def acquire(self):
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._remove_stale():
                    return False
                continue
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self.owner))
            self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat {self.path}")
            self._thread.start()
            return True

    def _remove_stale(self):
        """Remove the lock if it is stale (or gone); True when the caller should try to create it again."""
        blob = _stale_lock(self.path)
        if blob is None:
            return not self.path.exists()
        # rename first so that of several processes taking over at once exactly one removes this lock
        grave = self.path.with_name(f".lock.{self.owner['token']}.stale")
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return True
        if grave.read_bytes() != blob:
            # another process took it over between our read and our rename: give its lock back
            try:
                os.link(grave, self.path)
            except FileExistsError:
                pass
        grave.unlink()
        return True

    def read_owner(self):
        try:
            return _read_json(self.path)
        except (FileNotFoundError, ValueError):
            return None

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                return

    def release(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        owner = self.read_owner()
        if owner is not None and owner.get("token") == self.owner["token"]:
            self.path.unlink(missing_ok=True)

    def wait_released(self):
        """Block while a live owner holds the lock (a stale lock counts as released)."""
        while self.path.exists() and _stale_lock(self.path) is None:
            time.sleep(POLL_S)


# ---------------------------------------------------------------- running

def read_status(run_dir):
    """The run's status.json as a dict, or None when it has none yet."""
    try:
        return _read_json(Path(run_dir) / "status.json")
    except FileNotFoundError:
        return None


def is_finished(run_dir):
    status = read_status(run_dir)
    return status is not None and status.get("status") in FINISHED


def _remove_leftovers(run_dir):
    """Delete the temp files of writers killed mid-write; call only while holding the run's claim."""
    for tmp in Path(run_dir).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def tidy(run_dir):
    """A finished run whose owner died before cleaning up (killed after writing status.json) keeps its lock,
    checkpoint or temp files: take the stale claim and remove them. Cheap when there is no lock."""
    if not (Path(run_dir) / "lock").exists():
        return
    claim = Claim(run_dir)
    if claim.acquire():
        try:
            _remove_leftovers(run_dir)
            (Path(run_dir) / "checkpoint.pkl").unlink(missing_ok=True)
        finally:
            claim.release()


def run_once(config, store_root, *, progress=None, wait=True):
    """Run one config in the store unless it is finished -> (run_id, outcome).

    outcome: "done" | "diverged" | "failed" (this call trained), "skipped" (already finished, possibly by
    another process while this one waited) or "busy" (another live process is running it and wait=False).
    A failure inside training is recorded in status.json, not raised; bad config raises InputError.
    """
    from rnnbench.config import normalize

    config = normalize(config)
    rid = run_id(config)
    run_dir = Path(store_root) / rid
    run_dir.mkdir(parents=True, exist_ok=True)
    while True:
        if is_finished(run_dir):
            tidy(run_dir)
            return rid, "skipped"
        claim = Claim(run_dir)
        if claim.acquire():
            break
        if not wait:
            return rid, "busy"
        claim.wait_released()
    try:
        if is_finished(run_dir):      # finished by the previous owner between our check and our claim
            return rid, "skipped"
        return rid, _train_into(config, run_dir, progress)
    finally:
        claim.release()


def execute(config, store_root, *, progress=None):
    """Normalize `config`, train it into store_root/<run_id>/ unless finished there, and return run_id.

    Resumes from the run's checkpoint when one exists; waits when another process is running the same run.
    progress: None or callable(step, total_steps, loss, steps_per_s), passed to train().
    """
    return run_once(config, store_root, progress=progress)[0]


def _train_into(config, run_dir, progress):
    """Train a claimed run, write its results and status; returns the status written."""
    from rnnbench.train import train

    (run_dir / "status.json").unlink(missing_ok=True)    # a retried failed run is running again
    _remove_leftovers(run_dir)
    write_json(run_dir / "config.json", config)
    checkpoint = Checkpoint(run_dir / "checkpoint.pkl")
    seen = {"first": None, "last": None}      # steps this process ran

    def report(step, total, loss, steps_per_s):
        seen["first"] = step if seen["first"] is None else seen["first"]
        seen["last"] = step
        if progress is not None:
            progress(step, total, loss, steps_per_s)

    def resumed_from():
        return seen["first"] - 1 if checkpoint.loaded and seen["first"] is not None else None

    start = time.perf_counter()
    try:
        result = train(config, checkpoint=checkpoint, progress=report)
    except Exception as e:
        write_json(run_dir / "status.json", {
            "status": "failed", "error": f"{type(e).__name__}: {e}", "step": seen["last"],
            "resumed_from": resumed_from(),
            "wall_time": time.perf_counter() - start, "traceback": traceback.format_exc()})
        return "failed"
    _write_parquet(run_dir / "metrics.parquet", result.metrics)
    _write_parquet(run_dir / "gradnorms.parquet", result.gradnorms)
    wall = result.metrics[-1].get("wall_time") if result.metrics else None
    write_json(run_dir / "status.json", {
        "status": result.status, "error": None, "step": result.step, "diverged_at": result.diverged_at,
        "solved_at": result.solved_at, "resumed_from": resumed_from(),
        "wall_time": time.perf_counter() - start if wall is None else wall})
    checkpoint.path.unlink(missing_ok=True)
    return result.status


# ---------------------------------------------------------------- reading

def _run_dirs(store_root, run_ids=None):
    root = Path(store_root)
    if not root.is_dir():
        raise InputError(f"run store {str(root)!r} does not exist or is not a directory")
    if run_ids is not None:
        return [root / r for r in run_ids]
    return sorted(d for d in root.iterdir() if d.is_dir() and (d / "config.json").exists())


def _state(run_dir):
    """Status of a run without status.json: running (a live claim) or incomplete (killed or never run)."""
    lock = Path(run_dir) / "lock"
    return "running" if lock.exists() and _stale_lock(lock) is None else "incomplete"


def load_runs(store_root):
    """One row per run: run_id, status, error, steps_done, wall_time, then every config key."""
    import pandas as pd

    rows = []
    for d in _run_dirs(store_root):
        status = read_status(d) or {}
        rows.append({"run_id": d.name, "status": status.get("status") or _state(d),
                     "error": status.get("error"), "steps_done": status.get("step"),
                     "wall_time": status.get("wall_time"), **_read_json(d / "config.json")})
    columns = ["run_id", "status", "error", "steps_done", "wall_time"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def _load_table(store_root, run_ids, name):
    import pandas as pd
    import pyarrow.parquet as pq

    frames = []
    for d in _run_dirs(store_root, run_ids):
        if not is_finished(d):
            continue          # results of unfinished runs do not exist yet
        frame = pq.read_table(d / name).to_pandas()
        frame.insert(0, "run_id", d.name)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["run_id"])
    return pd.concat(frames, ignore_index=True)


def load_metrics(store_root, run_ids=None):
    """Metrics rows of finished runs (all, or those in run_ids), with a run_id column first."""
    return _load_table(store_root, run_ids, "metrics.parquet")


def load_gradnorms(store_root, run_ids=None):
    """Gradient-norm rows (step, layer, t, h_norm, c_norm) of finished runs, with a run_id column first."""
    return _load_table(store_root, run_ids, "gradnorms.parquet")

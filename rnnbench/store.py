"""The run store: one directory per training run, keyed by a hash of the run's normalized config.

    rid = execute(config, "runs/")          # trains unless already finished; resumes from a checkpoint
    load_runs("runs/"); load_metrics("runs/"); load_gradnorms("runs/")   # pandas DataFrames

Layout of store_root/<run_id>/:
    config.json        the normalized config (the run's identity: it must hash to <run_id>)
    lock, .claim.*/    the claim of the process running it (rnnbench.claim: fenced, with a heartbeat)
    checkpoint.npz     latest training state (data only, rnnbench.checkpoint), while the run trains
    metrics.parquet    one row per evaluation (written once, at the end of the run)
    gradnorms.parquet  one row per (step, layer, t) of the probe-batch gradient norms (same)
    status.json        {"status": "done"|"diverged"|"failed", "error", "step", "wall_time", "diverged_at",
                       "solved_at" (stop_when_solved, see rnnbench.train), "resumed_from" (checkpoint step
                       this process started from, or null), "finished_at" (UTC, ISO 8601: when it was
                       written; absent in runs made before it was added)}, written last

Every file is written through the run's claim: checked to still be this process's, then a temp file renamed
into place, so a reader never sees half a file and a process that lost its claim writes nothing. A run
directory is a real directory inside the store, never a symbolic link.

run_state() is the one judge of a run: finished ("done" or "diverged") only when status.json says so, its
config hashes to its id and both result tables load. Finished runs are never rerun; anything else a sweep
(re)runs, a "failed" run from its last checkpoint. Readers list unreadable runs apart, one line each.
"""
import datetime
import hashlib
import json
import re
import sys
import time
import traceback
from pathlib import Path
from typing import NamedTuple, Optional

from rnnbench.checkpoint import Checkpoint
from rnnbench.claim import Claim, ClaimLost, look
from rnnbench.errors import InputError
from rnnbench.files import json_bytes, read_json

# Bump when a change to kernels, tasks or training changes the numbers a config produces: old runs then
# keep their ids and new ones get fresh ids instead of being mistaken for finished.
RESULTS_VERSION = 4    # 2: fused [x_t | h_{t-1}] product and packed micro-kernel (new rounding)
#                        3: divergence detection ends runs as diverged that used to end done (or failed)
#                        4: kernels at the host's vector width; float32 tanh through a reciprocal estimate;
#                           subnormals flushed to zero in the CPU kernels

FINISHED = ("done", "diverged")
STATUSES = FINISHED + ("failed",)
TABLES = ("metrics.parquet", "gradnorms.parquet")
RESULT_FILES = ("config.json", "gradnorms.parquet", "metrics.parquet", "status.json")
CHECKPOINT = "checkpoint.npz"
_RUN_ID = re.compile(r"[0-9a-f]{16}")


def run_id(config, version=RESULTS_VERSION):
    """The run's id: 16 hex digits of the SHA-256 of the normalized config (without config.LATE_KEYS left at
    None) and the results version."""
    from rnnbench.config import LATE_KEYS

    config = {k: v for k, v in config.items() if not (k in LATE_KEYS and v is None)}
    blob = json.dumps({"config": config, "results_version": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def warn(message):
    """One warning line on stderr, in the CLI's style."""
    print(f"rnnbench: warning: {message}", file=sys.stderr, flush=True)


def run_dir(store_root, rid, *, create=False):
    """store_root/rid as a real directory inside the store (created with create=True); InputError for a
    symbolic link or a file there: the store never follows a link out of itself."""
    root = Path(store_root).resolve()
    path = root / rid
    if path.is_symlink():
        raise InputError(f"run directory {str(path)!r} is a symbolic link; the store writes only inside "
                         f"itself: remove the link")
    if create:
        root.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(exist_ok=True)
        except FileExistsError:
            pass
    if path.exists() and not path.is_dir():
        raise InputError(f"run directory {str(path)!r} is not a directory; remove it")
    return path


# ---------------------------------------------------------------- the state of a run

class RunState(NamedTuple):
    """What a run directory holds. status: done | diverged | failed | running | incomplete | damaged
    (problem says why) | empty (no config and no status yet: a run that never got going)."""
    status: str
    config: Optional[dict] = None
    info: Optional[dict] = None          # status.json
    problem: Optional[str] = None
    tables: Optional[dict] = None        # name -> DataFrame, for finished runs when asked for

    @property
    def finished(self):
        return self.status in FINISHED


def _damaged(problem, config=None):
    return RunState("damaged", config, None, problem)


def _read_table(path):
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()


def run_state(path, *, tables=False):
    """The state of the run directory `path` (see RunState); tables=True keeps a finished run's tables."""
    path = Path(path)
    if path.is_symlink():
        return _damaged("a symbolic link (refused: runs must be directories inside the store)")
    if not path.is_dir():
        return _damaged("not a directory")
    try:
        info = read_json(path / "status.json")
    except FileNotFoundError:
        info = None
    except (OSError, ValueError) as e:
        return _damaged(f"status.json is unreadable ({type(e).__name__}: {e})")
    if info is not None and not (isinstance(info, dict) and info.get("status") in STATUSES):
        return _damaged(f"status.json holds no status ({str(info)[:60]})")
    try:
        config = read_json(path / "config.json")
    except FileNotFoundError:
        if info is None:
            return RunState("empty")
        return _damaged("config.json is missing")
    except (OSError, ValueError) as e:
        return _damaged(f"config.json is unreadable ({type(e).__name__}: {e})")
    if (not isinstance(config, dict)
            or path.name not in {run_id(config, v) for v in range(1, RESULTS_VERSION + 1)}):
        return _damaged("config.json does not hash to the run's id (edited, or from another run)")
    if info is None:
        seen = look(path)
        return RunState("running" if seen.lock is not None and not seen.dead_here else "incomplete", config)
    loaded = {}
    if info["status"] in FINISHED:
        for name in TABLES:
            try:
                if (path / name).is_symlink():
                    raise OSError("a symbolic link")
                loaded[name] = _read_table(path / name)
            except Exception as e:       # pyarrow raises several types for a damaged file
                return _damaged(f"{name} does not load ({type(e).__name__}: {e})", config)
    return RunState(info["status"], config, info, None, loaded if tables else None)


def is_finished(path):
    """Whether the run at `path` is finished: the one test every command uses (see run_state)."""
    return run_state(path).finished


def read_status(path):
    """The run's status.json as a dict, or None when it has none (or an unreadable one)."""
    return run_state(path).info


# ---------------------------------------------------------------- running

def _remove_leftovers(path, claim):
    """Files of writers killed mid-write or of older versions; call only while holding the run's claim."""
    for leftover in [*path.glob(".*.tmp"), path / "checkpoint.pkl", path / CHECKPOINT]:
        if leftover.is_symlink() or leftover.is_file():
            claim.remove(leftover.name)


def tidy(path):
    """A finished run whose owner died before cleaning up keeps its lock, checkpoint or temp files: remove
    them when the claim can be taken at once (a dead owner on this host). Cheap when there are none."""
    if {p.name for p in Path(path).iterdir()} <= set(RESULT_FILES):
        return
    claim = Claim(path)
    if claim.acquire():
        try:
            _remove_leftovers(path, claim)
        except ClaimLost:
            pass
        finally:
            claim.release()


def run_once(config, store_root, *, progress=None, wait=True):
    """Run one config in the store unless it is finished -> (run_id, outcome).

    outcome: "done" | "diverged" | "failed" (this call trained), "skipped" (already finished, possibly by
    another process while this one waited), "busy" (another live process is running it and wait=False) or
    "lost" (another process took the claim over while this one trained: it wrote nothing after that).
    A failure inside training is recorded in status.json, not raised; bad config raises InputError.
    """
    from rnnbench.config import normalize

    config = normalize(config)
    rid = run_id(config)
    path = run_dir(store_root, rid, create=True)
    while True:
        if is_finished(path):
            tidy(path)
            return rid, "skipped"
        claim = Claim(path)
        if claim.acquire():
            break
        if not wait:
            return rid, "busy"
        claim.wait_released()
    try:
        if is_finished(path):      # finished by the previous owner between our check and our claim
            return rid, "skipped"
        return rid, _train_into(config, path, claim, progress)
    except ClaimLost:
        return rid, "lost"
    finally:
        claim.release()


def execute(config, store_root, *, progress=None):
    """Normalize `config`, train it into store_root/<run_id>/ unless finished there, and return run_id.

    Resumes from the run's checkpoint when one exists; waits when another process is running the same run.
    progress: None or callable(step, total_steps, loss, steps_per_s), passed to train().
    """
    return run_once(config, store_root, progress=progress)[0]


def _write_parquet(claim, name, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    claim.write(name, lambda f: pq.write_table(table, f))


def _train_into(config, path, claim, progress):
    """Train a claimed run, write its results and status; returns the status written."""
    from rnnbench.train import train

    claim.remove("status.json")              # a retried run is running again
    for leftover in path.glob(".*.tmp"):
        claim.remove(leftover.name)
    claim.write("config.json", lambda f: f.write(json_bytes(config)))
    checkpoint = Checkpoint(path / CHECKPOINT, claim, run=path.name)
    seen = {"first": None, "last": None}      # steps this process ran

    def report(step, total, loss, steps_per_s):
        claim.check()                         # stop early once another process has taken the run over
        seen["first"] = step if seen["first"] is None else seen["first"]
        seen["last"] = step
        if progress is not None:
            progress(step, total, loss, steps_per_s)

    def resumed_from():
        return seen["first"] - 1 if checkpoint.loaded and seen["first"] is not None else None

    start = time.perf_counter()
    try:
        result = train(config, checkpoint=checkpoint, progress=report)
    except ClaimLost:
        raise
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
        if checkpoint.loaded and seen["first"] is None:
            # it decoded but training could not resume from it: without it the retry starts from step 0
            claim.remove(CHECKPOINT)
            error += " (while resuming from its checkpoint, now deleted: a retry starts from step 0)"
        _write_status(claim, {
            "status": "failed", "error": error, "step": seen["last"],
            "resumed_from": resumed_from(),
            "wall_time": time.perf_counter() - start, "traceback": traceback.format_exc()})
        return "failed"
    _write_parquet(claim, "metrics.parquet", result.metrics)
    _write_parquet(claim, "gradnorms.parquet", result.gradnorms)
    wall = result.metrics[-1].get("wall_time") if result.metrics else None
    _write_status(claim, {
        "status": result.status, "error": None, "step": result.step, "diverged_at": result.diverged_at,
        "solved_at": result.solved_at, "resumed_from": resumed_from(),
        "wall_time": time.perf_counter() - start if wall is None else wall})
    _remove_leftovers(path, claim)
    return result.status


def _write_status(claim, status):
    # the time is in the file, not only its mtime, which a copy or a git checkout does not keep
    status = {**status, "finished_at": utc_now()}
    claim.write("status.json", lambda f: f.write(json_bytes(status)))


def utc_now():
    """Now, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def record_failure(config, store_root, error):
    """Record `error` as the failure of config's run (its worker died running it) unless a live process
    holds the run or it is finished -> whether it was recorded. The next sweep retries it."""
    from rnnbench.config import normalize

    config = normalize(config)
    path = run_dir(store_root, run_id(config), create=True)
    claim = Claim(path)
    if not claim.acquire():
        return False
    try:
        if is_finished(path):
            return False
        claim.write("config.json", lambda f: f.write(json_bytes(config)))
        _write_status(claim, {"status": "failed", "error": error, "step": None, "resumed_from": None,
                              "wall_time": None})
        return True
    except ClaimLost:
        return False
    finally:
        claim.release()


# ---------------------------------------------------------------- reading

class Scan(NamedTuple):
    runs: list            # (run_id, RunState) of readable runs
    unreadable: list      # "run <id>: <problem>" lines


def _store(store_root):
    root = Path(store_root)
    if not root.is_dir():
        raise InputError(f"run store {str(root)!r} does not exist or is not a directory")
    return root


def scan(store_root, run_ids=None, *, tables=False):
    """Every run of the store (or those in run_ids) -> Scan. Entries not named like a run id are not runs
    (a bench.json, a report folder) and runs that never got going are left out."""
    root = _store(store_root)
    if run_ids is None:
        paths = sorted(p for p in root.iterdir() if _RUN_ID.fullmatch(p.name))
    else:
        bad = [r for r in run_ids if not isinstance(r, str) or not _RUN_ID.fullmatch(r)]
        if bad:
            raise InputError(f"{bad[0]!r} is not a run id (16 hex digits)")
        paths = [root / r for r in run_ids]
    runs, unreadable = [], []
    for path in paths:
        state = run_state(path, tables=tables)
        if state.status == "damaged":
            unreadable.append(f"run {path.name}: {state.problem}")
        elif state.status != "empty":
            runs.append((path.name, state))
    return Scan(runs, unreadable)


def runs_frame(scanned):
    """One row per readable run: run_id, status, error, steps_done, wall_time, then every config key."""
    import pandas as pd

    rows = [{"run_id": rid, "status": s.status, "error": (s.info or {}).get("error"),
             "steps_done": (s.info or {}).get("step"), "wall_time": (s.info or {}).get("wall_time"),
             **s.config}
            for rid, s in scanned.runs]
    columns = ["run_id", "status", "error", "steps_done", "wall_time"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def load_runs(store_root, name=None):
    """One row per readable run (see runs_frame); each unreadable run is named in a warning on stderr. With
    `name` (how the store is named to the user), InputError when the store has runs and none is readable."""
    scanned = scan(store_root)
    for line in scanned.unreadable:
        warn(line)
    if name is not None and scanned.unreadable and not scanned.runs:
        raise InputError(f"{name}: none of its {len(scanned.unreadable)} runs is readable")
    return runs_frame(scanned)


def _load_table(store_root, run_ids, name):
    import pandas as pd

    frames = []
    for rid, state in scan(store_root, run_ids, tables=True).runs:
        if state.finished:                    # results of unfinished runs do not exist yet
            frame = state.tables[name]
            frame.insert(0, "run_id", rid)
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

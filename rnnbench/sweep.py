"""Sweeps: expand a TOML grid into run configs and run the ones missing from a run store, on a local
process pool (default) or a Dask distributed cluster (rnnbench.pools).

    configs = load_sweep("rnnbench/sweeps/adding.toml")       # InputError naming file, key and problem
    configs = load_sweep("adding")                            # the same: a sweep shipped in rnnbench/sweeps/
    run_sweep(configs, "runs/", workers=2)                    # or scheduler="tcp://HOST:8786"

A sweep file's top-level keys are config keys (rnnbench.config.DEFAULTS); a list makes an axis and the
grid is the product of the axes in file order, at most MAX_RUNS runs unless max_runs says more (counted
before anything is expanded). An optional [sweep] table holds name and description.
Every run goes through rnnbench.store (one fenced claim per run, atomic files), so a killed sweep reruns
only what did not finish, and two sweeps on one store never run the same run twice.
"""
import itertools
import math
import re
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

try:
    import tomllib
except ImportError:          # Python 3.10
    import tomli as tomllib

from rnnbench import store
from rnnbench.checks import positive_int
from rnnbench.claim import stale_seconds
from rnnbench.errors import InputError
from rnnbench.pools import DaskPool, LocalPool, RunError

SWEEP_KEYS = ("name", "description")
EXAMPLES = Path(__file__).parent / "sweeps"       # the classic experiments, loadable by name
MAX_RUNS = 100_000       # a bigger grid is almost always a typo; max_runs / --max-runs allows it
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")


def _read(path):
    """The sweep file's TOML as a dict (a shipped sweep by name when `path` is no file)."""
    path = Path(path)
    if not path.exists() and (EXAMPLES / f"{path}.toml").is_file():
        path = EXAMPLES / f"{path}.toml"
    try:
        return path, tomllib.loads(path.read_text())
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in EXAMPLES.glob("*.toml")))
        raise InputError(f"{path}: no such sweep file (shipped sweeps: {shipped})") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a sweep file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the sweep file ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: TOML syntax error: {e}") from None


def _check_meta(path, meta):
    if not isinstance(meta, dict):
        raise InputError(f"{path}: key 'sweep' must be a table with {' and '.join(SWEEP_KEYS)}")
    for key in meta:
        if key not in SWEEP_KEYS:
            raise InputError(f"{path}: unknown key 'sweep.{key}'; the [sweep] table takes "
                             f"{', '.join(SWEEP_KEYS)} (config keys go above it)")
    name = meta.get("name", "x")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"{path}: key 'sweep.name' must be 1 to 100 letters, digits, spaces, '.', '_' or "
                         f"'-' (starting with a letter or digit), got {name!r}")
    if not isinstance(meta.get("description", ""), str):
        raise InputError(f"{path}: key 'sweep.description' must be a string, got {meta['description']!r}")


def load_sweep(path, *, max_runs=MAX_RUNS):
    """Read a sweep file -> list of normalized configs (duplicates dropped), all validated before return.
    A grid of more than max_runs runs is refused before it is expanded."""
    from rnnbench.config import normalize

    path, data = _read(path)
    _check_meta(path, data.pop("sweep", {}))
    if not data:
        raise InputError(f"{path}: empty grid: the file sets no config keys")
    axes = {key: value if isinstance(value, list) else [value] for key, value in data.items()}
    for key, values in axes.items():
        if not values:
            raise InputError(f"{path}: key {key!r}: empty axis (an empty list makes an empty grid)")
    size = math.prod(len(values) for values in axes.values())
    if size > max_runs:
        raise InputError(f"{path}: the grid has {size} runs, more than the limit of {max_runs} "
                         f"(--max-runs raises it)")
    # every axis at its first value; when that fails, name the key whose removal alone makes it pass
    first = {key: values[0] for key, values in axes.items()}
    try:
        normalize(first)
    except InputError as e:
        for key in first:
            try:
                normalize({k: v for k, v in first.items() if k != key})
            except InputError:
                continue
            where = f"key {key!r}" if len(axes[key]) == 1 else f"key {key!r}, axis value {first[key]!r}"
            raise InputError(f"{path}: {where}: {e}") from None
        raise InputError(f"{path}: {e}") from None
    # then each other axis value once with the rest at their first value, so an error names the bad value
    for key, values in axes.items():
        for value in values[1:]:
            try:
                normalize({**first, key: value})
            except InputError as e:
                raise InputError(f"{path}: key {key!r}, axis value {value!r}: {e}") from None
    configs = {}
    for combo in itertools.product(*axes.values()):
        raw = dict(zip(axes, combo))
        try:
            config = normalize(raw)
        except InputError as e:
            run = ", ".join(f"{k}={v!r}" for k, v in raw.items() if len(axes[k]) > 1)
            raise InputError(f"{path}: {e} (in the run {run})") from None
        configs.setdefault(store.run_id(config), config)
    return list(configs.values())


class _Progress:
    """One stderr line per finished run: runs done / total, failures, estimated time left."""

    def __init__(self, configs, skipped, refused, enabled):
        self.total, self.finished, self.enabled = len(configs), skipped + refused, enabled
        self.ran, self.failed, self.start = 0, 0, time.monotonic()
        # label runs by the keys that vary across the sweep
        self.keys = [k for k in (configs[0] if configs else {}) if len({repr(c[k]) for c in configs}) > 1]
        if enabled and skipped:
            print(f"sweep: {skipped} of {self.total} runs already finished in the store, skipped",
                  file=sys.stderr)

    def update(self, config, outcome, run_id, error=None):
        self.finished += 1
        self.ran += outcome != "skipped"
        self.failed += outcome == "failed"
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        left = self.total - self.finished
        if self.ran and left:
            eta = f"ETA {_duration(elapsed / self.ran * left)}"
        else:
            eta = f"in {_duration(elapsed)}"
        label = " ".join(f"{k}={config[k]}" for k in self.keys if config[k] is not None)
        detail = f": {error}" if error else ""
        print(f"[{self.finished}/{self.total}] {outcome:8} {run_id} {label}{detail} | {self.failed} failed | "
              f"{eta}", file=sys.stderr, flush=True)


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def run_sweep(configs, store_root, *, workers=2, scheduler=None, progress=True):
    """Run every config not yet finished in store_root -> {"total", "skipped", "done", "diverged", "failed",
    "refused"}.

    workers: local processes (ignored with scheduler); scheduler: a Dask scheduler address, whose workers
    must see store_root at the same path. Failed runs are recorded in the store (`rnnbench runs --status
    failed` lists them) and retried by the next sweep; a run another process is running is left to it and
    waited for at the end. A run whose directory is a symbolic link or a file is refused, one line each.
    """
    from rnnbench.config import normalize

    if scheduler is None:
        positive_int("workers", workers)
    configs = [normalize(c) for c in configs]
    stale_seconds()                     # a bad RNNBENCH_STALE_S is bad input, not failed runs
    if scheduler is None:
        from rnnbench.backend import get_backend

        for backend in sorted({c["backend"] for c in configs}):
            try:
                get_backend(backend)    # a backend this machine lacks is bad input, not failed runs
            except ImportError as e:
                raise InputError(f"backend {backend!r} is not available here: {e}") from None
    root = Path(store_root).resolve()
    todo, refused = [], 0
    for config in configs:
        try:
            run_dir = store.run_dir(root, store.run_id(config))
        except InputError as e:
            print(f"rnnbench: error: {e}", file=sys.stderr)
            refused += 1
            continue
        if store.is_finished(run_dir):
            store.tidy(run_dir)
        else:
            todo.append(config)
    summary = Counter({"total": len(configs), "skipped": len(configs) - len(todo) - refused, "done": 0,
                       "diverged": 0, "failed": 0, "refused": refused})
    shown = _Progress(configs, summary["skipped"], refused, progress)
    if not todo:
        return dict(summary)
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
    pool = DaskPool(scheduler) if scheduler is not None else LocalPool(min(workers, len(todo)), say)
    try:
        root.mkdir(parents=True, exist_ok=True)  # after connecting: a bad address leaves nothing behind
        pending, wait = todo, False
        while pending:
            again = []
            for config, result in pool.map_unordered(pending, str(root), wait):
                rid, error = store.run_id(config), None
                if isinstance(result, RunError):
                    error = str(result)
                    outcome = _record_failure(config, root, error, wait)
                else:
                    outcome = result[1]
                if outcome in ("busy", "lost"):
                    again.append(config)     # another process is running it: wait for it after the rest
                    continue
                summary[outcome] += 1
                shown.update(config, outcome, rid, error)
            pending, wait = again, True
    finally:
        pool.close()
    return dict(summary)


def _record_failure(config, root, error, waited):
    """The outcome of a task that ended in an error: "failed" (recorded in the store, or not recordable),
    "skipped" (another process finished the run meanwhile) or "busy" (another live process holds it)."""
    try:
        if store.record_failure(config, root, error):
            return "failed"
        if store.is_finished(store.run_dir(root, store.run_id(config))):
            return "skipped"
    except InputError:
        return "failed"
    return "failed" if waited else "busy"


def failure_hint(summary, store_root):
    """The closing lines for failed or refused runs, each naming a command that lists what it counts."""
    where = shlex.quote(str(store_root))
    lines = []
    if summary.get("failed"):
        lines.append(f"{summary['failed']} runs failed: `rnnbench runs --store {where} --status failed` "
                     f"lists them with their errors; rerun the same command to retry them")
    if summary.get("refused"):
        lines.append(f"{summary['refused']} runs refused (named above; `rnnbench runs --store {where}` names "
                     f"them too): their directories in the store are links or files; remove them and rerun")
    return lines

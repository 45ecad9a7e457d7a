"""Sweeps: expand a TOML grid into run configs and run the ones missing from a run store, on a local
process pool (default) or a Dask distributed cluster.

    configs = load_sweep("rnnbench/sweeps/adding.toml")       # InputError naming file, key and problem
    configs = load_sweep("adding")                            # the same: a sweep shipped in rnnbench/sweeps/
    run_sweep(configs, "runs/", workers=2)                    # or scheduler="tcp://HOST:8786"

A sweep file's top-level keys are config keys (rnnbench.config.DEFAULTS); a list makes an axis and the
grid is the product of the axes in file order. An optional [sweep] table holds name and description.
Every run goes through rnnbench.store (one claim per run, atomic files), so a killed sweep reruns only
what did not finish, and two sweeps on one store never run the same run twice.
"""
import contextlib
import itertools
import os
import sys
import time
from collections import Counter
from pathlib import Path

try:
    import tomllib
except ImportError:          # Python 3.10
    import tomli as tomllib

from rnnbench import store
from rnnbench.errors import InputError

SWEEP_KEYS = ("name", "description")
EXAMPLES = Path(__file__).parent / "sweeps"       # the classic experiments, loadable by name
# one run uses one core, so N workers use N cores (read by BLAS and Numba when a worker process starts)
_ONE_THREAD_ENV = {k: "1" for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                    "MKL_NUM_THREADS")}


def load_sweep(path):
    """Read a sweep file -> list of normalized configs (duplicates dropped), all validated before return."""
    from rnnbench.config import normalize

    path = Path(path)
    if not path.exists() and (EXAMPLES / f"{path}.toml").is_file():
        path = EXAMPLES / f"{path}.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in EXAMPLES.glob("*.toml")))
        raise InputError(f"{path}: no such sweep file (shipped sweeps: {shipped})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: TOML syntax error: {e}") from None
    meta = data.pop("sweep", {})
    if not isinstance(meta, dict):
        raise InputError(f"{path}: key 'sweep' must be a table with {' and '.join(SWEEP_KEYS)}")
    for key in meta:
        if key not in SWEEP_KEYS:
            raise InputError(f"{path}: unknown key 'sweep.{key}'; the [sweep] table takes {', '.join(SWEEP_KEYS)} "
                             "(config keys go above it)")
    if not data:
        raise InputError(f"{path}: empty grid: the file sets no config keys")
    axes = {key: value if isinstance(value, list) else [value] for key, value in data.items()}
    for key, values in axes.items():
        if not values:
            raise InputError(f"{path}: key {key!r}: empty axis (an empty list makes an empty grid)")
    # check each axis value once with the other axes at their first value, so an error names the bad value
    first = {key: values[0] for key, values in axes.items()}
    for key, values in axes.items():
        for value in values:
            try:
                normalize({**first, key: value})
            except InputError as e:
                where = f"key {key!r}" if len(values) == 1 else f"key {key!r}, axis value {value!r}"
                raise InputError(f"{path}: {where}: {e}") from None
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


def _work(config, store_root, wait):
    """One task on a worker: run_once on one core (Numba and BLAS threads) -> (run_id, outcome)."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)
    with threadpool_limits(1):
        return store.run_once(config, store_root, wait=wait)


@contextlib.contextmanager
def _env(values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _LocalPool:
    """Process pool with the spawn context (Numba and threads do not survive fork)."""

    def __init__(self, workers):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def map_unordered(self, configs, store_root, wait):
        from concurrent.futures import as_completed

        with _env(_ONE_THREAD_ENV):     # workers start during submit and inherit this environment
            futures = {self.executor.submit(_work, c, store_root, wait): c for c in configs}
        for future in as_completed(futures):
            yield futures[future], future

    def close(self):
        self.executor.shutdown(cancel_futures=True)


class _DaskPool:
    """A dask.distributed client; the scheduler reruns a lost worker's task on another worker, whose claim
    then takes over the dead worker's lock."""

    def __init__(self, address):
        try:
            from distributed import Client
        except ImportError:
            raise InputError("--scheduler needs dask.distributed: pip install 'rnnbench[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"cannot connect to the Dask scheduler at {address}: {e}") from None

    def map_unordered(self, configs, store_root, wait):
        from distributed import as_completed

        futures = {self.client.submit(_work, c, store_root, wait, pure=False): c for c in configs}
        for future in as_completed(futures):
            yield futures[future], future

    def close(self):
        self.client.close()


class _Progress:
    """One stderr line per finished run: runs done / total, failures, estimated time left."""

    def __init__(self, configs, skipped, enabled):
        self.total, self.finished, self.enabled = len(configs), skipped, enabled
        self.ran, self.failed, self.start = 0, 0, time.monotonic()
        # label runs by the keys that vary across the sweep
        self.keys = [k for k in (configs[0] if configs else {}) if len({repr(c[k]) for c in configs}) > 1]
        if enabled and skipped:
            print(f"sweep: {skipped} of {self.total} runs already finished in the store, skipped", file=sys.stderr)

    def update(self, config, outcome, run_id, error=None):
        self.finished += 1
        self.ran += outcome != "skipped"
        self.failed += outcome == "failed"
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        left = self.total - self.finished
        eta = f"ETA {_duration(elapsed / self.ran * left)}" if self.ran and left else f"in {_duration(elapsed)}"
        label = " ".join(f"{k}={config[k]}" for k in self.keys if config[k] is not None)
        detail = f": {error}" if error else ""
        print(f"[{self.finished}/{self.total}] {outcome:8} {run_id} {label}{detail} | {self.failed} failed | "
              f"{eta}", file=sys.stderr, flush=True)


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def run_sweep(configs, store_root, *, workers=2, scheduler=None, progress=True):
    """Run every config not yet finished in store_root -> {"total", "skipped", "done", "diverged", "failed"}.

    workers: local processes (ignored with scheduler); scheduler: a Dask scheduler address, whose workers
    must see store_root at the same path. Failed runs are recorded in the store and retried by the next
    sweep; a run another process is running is left to it and waited for at the end.
    """
    from rnnbench.config import normalize

    if scheduler is None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    configs = [normalize(c) for c in configs]
    if scheduler is None:
        from rnnbench.backend import get_backend

        for backend in sorted({c["backend"] for c in configs}):
            try:
                get_backend(backend)    # a backend this machine lacks is bad input, not failed runs
            except ImportError as e:
                raise InputError(f"backend {backend!r} is not available here: {e}") from None
    root = Path(store_root).resolve()
    todo = []
    for config in configs:
        run_dir = root / store.run_id(config)
        if store.is_finished(run_dir):
            store.tidy(run_dir)
        else:
            todo.append(config)
    summary = Counter({"total": len(configs), "skipped": len(configs) - len(todo), "done": 0,
                       "diverged": 0, "failed": 0})
    shown = _Progress(configs, summary["skipped"], progress)
    if not todo:
        return dict(summary)
    pool = _DaskPool(scheduler) if scheduler is not None else _LocalPool(min(workers, len(todo)))
    try:
        root.mkdir(parents=True, exist_ok=True)  # after connecting: a bad address leaves nothing behind
        busy = []
        for wait, batch in ((False, todo), (True, busy)):
            for config, future in pool.map_unordered(batch, str(root), wait):
                try:
                    rid, outcome = future.result()
                    error = None
                except Exception as e:       # the worker died or the store failed: retried next sweep
                    rid, outcome, error = store.run_id(config), "failed", f"{type(e).__name__}: {e}"
                if outcome == "busy":
                    busy.append(config)      # another sweep is running it: wait for it after the rest
                    continue
                summary[outcome] += 1
                shown.update(config, outcome, rid, error)
    finally:
        pool.close()
    return dict(summary)

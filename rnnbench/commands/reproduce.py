"""`rnnbench reproduce [--quick | --full]`: run the built-in experiment suite into a store, then write its
report.

The suites are the sweep files in rnnbench/sweeps/quick/ and rnnbench/sweeps/full/ (every *.toml there; the
budget arithmetic of the full one is rnnbench/sweeps/full/BUDGET.md), run through rnnbench.sweep.run_sweep, so
a killed reproduce resumes where it stopped. After the sweep, `rnnbench bench` (--quick for the quick suite)
runs against PyTorch and JAX where they are installed (else rnnbench alone) into <store>/bench.json, which the
report's speed section reads; a resumed reproduce keeps a bench already there.

The time estimate comes from this machine: each distinct run shape (cell, task, sizes, optimizer) is timed
for a few training steps and one evaluation, in one thread as a sweep worker runs it, in CPU time
(calibrate()); the runs are then scheduled longest first on the workers (expected_seconds()), in the order the
sweep will run them, each worker getting the share of a core that the processes already running here leave
it (cpu_share(): a shared machine's other work slows a sweep 2-3x, and timing alone cannot see it coming).
Every invocation appends a session to <store>/reproduce.json (start, estimate, sweep and bench times, end),
from which the report sets the measured wall time beside the estimate.
"""
import heapq
import statistics
import time
from pathlib import Path
from typing import NamedTuple

HELP = "run the built-in experiment suite (resumable) and write its report"

SWEEPS = Path(__file__).resolve().parent.parent / "sweeps"
SUITES = {"quick": "quick", "full": "full"}          # suite -> folder of sweep files under SWEEPS
# `rnnbench bench` arguments per suite (besides --against and --out), and its wall time on this project's
# 2-core machine, idle (it runs 2 threads), by part: rnnbench's own timings, then what each comparator that
# is installed adds. Measured 2026-12-07: `bench --quick` 7 s alone, 22 s against torch, 40 s against torch
# and jax (45 s and 13 s inside `reproduce --quick`, first calls compiling); the full bench 265 s against
# both, split in the quick one's proportions
BENCH_ARGS = {"quick": ["--quick"], "full": []}
BENCH_SECONDS = {"quick": {"rnnbench": 9.0, "torch": 15.0, "jax": 19.0},
                 "full": {"rnnbench": 50.0, "torch": 95.0, "jax": 120.0}}
WORKER_START_S = 5.0      # a spawned worker: interpreter, imports, Numba cache loads (measured here: 3-5 s)
# what one training step's and one evaluation's time depend on: runs that agree on these share a calibration
SHAPE_KEYS = ("task", "adding_variant", "series", "horizon", "seq_len", "cell", "nonlinearity", "init",
              "hidden", "layers", "batch", "optimizer", "clip_mode", "backend", "dtype", "test_size")
CALIBRATION_S = 0.4       # time at least this long (and 3 steps) per shape, at most 20 steps
EVAL_SAMPLE = 64          # test sequences timed per shape: evaluation time is linear in the test set's size


def add_arguments(parser):
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the small suite (default): minutes on 2 cores")
    size.add_argument("--full", action="store_true", help="the publication grid (about 4 hours on 2 cores)")
    parser.add_argument("--store", default=None, help="run store (default: runs/quick or runs/full)")
    parser.add_argument("--out", default=None,
                        help="report directory (default: reports/quick or reports/full)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    where.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")


def suite_configs(name):
    """The normalized configs of a built-in suite, every sweep file of its folder in name order."""
    from rnnbench.sweep import load_sweep

    return [c for f in sorted((SWEEPS / SUITES[name]).glob("*.toml")) for c in load_sweep(f)]


class Calibration(NamedTuple):
    step_s: float         # one training step on one core: fresh batch, forward, backward, clip, update
                          # (median)
    eval_s: float         # one evaluation of the whole test set on one core


def shape_key(config):
    return tuple(config[k] for k in SHAPE_KEYS)


def calibrate(config):
    """Time a few training steps and an evaluation of `config`'s shape in this process, one thread (a sweep
    worker's setting), after an untimed step and evaluation that absorb compilation. CPU time, so that what
    else runs on the machine meanwhile does not count (cpu_share() accounts for it)."""
    import numba
    from threadpoolctl import threadpool_limits

    from rnnbench.train import build, evaluate, train_step

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            task, model, optimizer, rng, test = build(config)
            train_step(task, model, optimizer, task.batch(rng, config["batch"]), config)
            times = []
            start = time.process_time()
            while len(times) < 20 and (len(times) < 3 or time.process_time() - start < CALIBRATION_S):
                t = time.process_time()
                train_step(task, model, optimizer, task.batch(rng, config["batch"]), config)
                times.append(time.process_time() - t)
            n = test.x.shape[1]          # a forecasting series may have fewer windows than test_size
            evaluate(task, model, task.take(test, 0, 2))
            t = time.process_time()
            evaluate(task, model, task.take(test, 0, min(n, EVAL_SAMPLE)))
            eval_s = (time.process_time() - t) * n / min(n, EVAL_SAMPLE)
    finally:
        numba.set_num_threads(threads)
    return Calibration(statistics.median(times), eval_s)


def calibrate_all(configs):
    """({shape_key: Calibration} for every distinct shape among configs, each timed once; the number of other
    processes running on the machine throughout, or None where it cannot be read).

    The running processes are sampled before and after each shape; the count taken is the lower quartile of
    the samples, what was there three times in four: a job that comes and goes for a moment (a test run, a
    compiler) does not count, one that keeps the cores busy does."""
    calibrations, others = {}, []
    for config in configs:
        key = shape_key(config)
        if key not in calibrations:
            others.append(_running_others())
            calibrations[key] = calibrate(config)
            others.append(_running_others())
    others = sorted(n for n in others if n is not None)
    return calibrations, (others[len(others) // 4] if others else None)


def _running_others():
    # /proc/loadavg's fourth field, "running/total": the processes running or ready to run, this one included
    try:
        return max(0, int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        return None


def cpu_share(workers, others, cores):
    """The share of a core each of `workers` processes gets beside `others` already running on `cores`."""
    return min(1.0, cores / ((others or 0) + workers))


def _rows(steps, every):
    # metrics / gradient-norm rows of a run: at step 0, every `every` steps and at the last step
    return 1 + steps // every + (steps % every != 0)


def run_seconds(config, cal):
    """One run's time: its training steps, its evaluations of the test set and its gradient-norm probes (a
    forward and backward on one batch, timed as a training step)."""
    steps = config["steps"]
    return (steps * cal.step_s + _rows(steps, config["eval_every"]) * cal.eval_s
            + _rows(steps, config["gradnorm_every"]) * cal.step_s)


def longest_first(configs, calibrations):
    """The configs ordered by expected run time, longest first: the order that keeps the workers busy to the
    end (no long run starts last), and the one the estimate assumes."""
    return sorted(configs, key=lambda c: -run_seconds(c, calibrations[shape_key(c)]))


def expected_seconds(configs, workers, calibrations, share=1.0):
    """Wall time of running `configs` in this order on `workers` processes, each taking the next run as soon
    as it is free (what the sweep's pool does) and getting `share` of a core; every worker first pays
    WORKER_START_S."""
    free = [WORKER_START_S] * max(1, workers)
    for c in configs:
        heapq.heapreplace(free, free[0] + run_seconds(c, calibrations[shape_key(c)]) / share)
    return max(free)


def _minutes(seconds):
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min"


def record_session(store_root, session):
    """Add or update (by its `started`) this invocation's entry in <store>/reproduce.json."""
    import json

    from rnnbench.files import write_json
    from rnnbench.report.walltime import close_sessions

    path = Path(store_root) / "reproduce.json"
    sessions = json.loads(path.read_text())["sessions"] if path.is_file() else []
    sessions = [s for s in sessions if s["started"] != session["started"]]
    # an earlier session that never finished (killed) gets its end now, while the store's runs still carry
    # the times they were written
    write_json(path, {"sessions": close_sessions(sessions, store_root) + [session]})


def comparators():
    """The frameworks `rnnbench bench` compares against here: those installed (found, not imported: torch
    and jax take seconds to import)."""
    import importlib.util

    from rnnbench.bench.comparators import COMPARATORS

    return [f for f in COMPARATORS if importlib.util.find_spec(f)]


def bench_seconds(name, against):
    """The bench's expected seconds for suite `name` against the frameworks `against` on an idle machine."""
    return BENCH_SECONDS[name]["rnnbench"] + sum(BENCH_SECONDS[name][f] for f in against)


def bench(name, store):
    """Run the suite's `rnnbench bench` into store/bench.json, in a fresh process (its own thread settings),
    unless an earlier, interrupted reproduce already wrote one there."""
    import subprocess
    import sys

    if (store / "bench.json").is_file():
        print(f"bench: keeping {store / 'bench.json'}", flush=True)
        return
    against = ",".join(comparators()) or "none"
    print(f"bench: rnnbench bench {' '.join(BENCH_ARGS[name])} --against {against}", flush=True)
    subprocess.run([sys.executable, "-m", "rnnbench", "bench", *BENCH_ARGS[name], "--against", against,
                    "--out", str(store)], check=False)


def run(args):
    import os

    from rnnbench import store as run_store
    from rnnbench.errors import InputError
    from rnnbench.paths import check_dir
    from rnnbench.report import build_report
    from rnnbench.report.folder import check_out
    from rnnbench.sweep import run_sweep

    name = "full" if args.full else "quick"
    # both paths are checked before the sweep and the bench, which take minutes to days
    store = check_dir(f"runs/{name}" if args.store is None else args.store, "--store")
    out = check_out(f"reports/{name}" if args.out is None else args.out, store)
    if args.scheduler is None and args.workers < 1:
        raise InputError(f"--workers must be a positive integer, got {args.workers}")
    workers = args.workers if args.scheduler is None else 1
    session = {"suite": name, "started": run_store.utc_now(), "workers": workers, "scheduler": args.scheduler,
               "loadavg_start": os.getloadavg()[0]}
    start = time.perf_counter()
    configs = suite_configs(name)
    todo = [c for c in configs if not run_store.is_finished(store / run_store.run_id(c))]
    print(f"reproduce --{name}: {len(configs)} runs, {len(todo)} to run into {store}; timing "
          f"{len({shape_key(c) for c in todo})} run shapes for the estimate", flush=True)
    calibrations, others = calibrate_all(todo)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    # a Dask cluster's workers are other machines: neither this one's load nor its cores apply
    share = cpu_share(workers, others, cores) if args.scheduler is None else 1.0
    todo = longest_first(todo, calibrations)
    sweep_est = expected_seconds(todo, workers, calibrations, share) if todo else 0.0
    bench_est = (0.0 if (store / "bench.json").is_file()
                 else bench_seconds(name, comparators()) / cpu_share(2, others, cores))
    session.update(runs=len(configs), runs_to_run=len(todo), calibration_s=time.perf_counter() - start,
                   others_running=others, cores=cores, cpu_share=share, estimate_s=sweep_est + bench_est,
                   sweep_estimate_s=sweep_est, bench_estimate_s=bench_est)
    where = f"{workers} workers" if args.scheduler is None else f"{args.scheduler} (estimated for one worker)"
    print(f"expected time about {_minutes(sweep_est + bench_est)}: sweep {_minutes(sweep_est)} on {where}, "
          f"bench {_minutes(bench_est)} (timed here in {session['calibration_s']:.0f} s; "
          f"{others if others is not None else 'unknown'} other processes running on {cores} cores, so "
          f"{share:.0%} of a core per worker if that lasts)", flush=True)
    store.mkdir(parents=True, exist_ok=True)
    record_session(store, session)
    t = time.perf_counter()
    summary = run_sweep(todo, store, workers=args.workers, scheduler=args.scheduler) if todo else {}
    session["sweep_s"] = time.perf_counter() - t
    print(f"sweep: {summary} in {session['sweep_s']:.0f} s", flush=True)
    t = time.perf_counter()
    bench(name, store)
    session.update(bench_s=time.perf_counter() - t, finished=run_store.utc_now(),
                   loadavg_end=os.getloadavg()[0])
    record_session(store, session)
    command = "rnnbench reproduce --" + name + f" --store {store} --out {out}"
    path = build_report(store, out, command=command)
    print(f"report written to {path} in {time.perf_counter() - start:.0f} s total "
          f"(estimate {session['estimate_s']:.0f} s for sweep and bench, measured "
          f"{session['sweep_s'] + session['bench_s']:.0f} s)")
    return 0

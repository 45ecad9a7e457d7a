"""`rnnbench sweep SWEEP.toml --store runs/`: run every run of a grid that the store does not have yet.

    rnnbench sweep rnnbench/sweeps/adding.toml --store runs/ --workers 4
    rnnbench sweep adding --store runs/ --dry-run         # a shipped sweep by name: list its runs
    rnnbench sweep rnnbench/sweeps/adding.toml --store /shared/runs --scheduler tcp://10.0.0.1:8786

Finished runs (done or diverged) are skipped; failed and damaged runs are (re)run. Exit code 1 if any run
failed or was refused (its directory in the store is a link or a file).
"""
import os
import sys

HELP = "run the missing runs of a sweep grid (TOML) on a local process pool or a Dask cluster"


def _usable_cores():
    # the cores this process may run on (a container or taskset may allow fewer than the machine has)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def add_arguments(parser):
    parser.add_argument("sweep_file", metavar="SWEEP.toml",
                        help="grid of configs (a list value makes an axis), or the name of a shipped sweep: "
                             "adding, copy, timing, forecasting")
    parser.add_argument("--store", required=True, help="run store directory (created if missing)")
    where = parser.add_mutually_exclusive_group()
    # default None, not the core count: argparse lets a flag that equals its default through a mutually
    # exclusive group, so `--workers 2 --scheduler X` passed where `--workers 1 --scheduler X` did not
    where.add_argument("--workers", type=int, default=None,
                       help="local worker processes, one core each (default: the cores this process may use)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on this Dask scheduler's workers instead; they must see --store at the same "
                            "path")
    parser.add_argument("--max-runs", type=int, default=None,
                        help="refuse a grid of more runs than this (default 100000)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and whether each is finished")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args):
    from rnnbench import store
    from rnnbench.errors import InputError
    from rnnbench.paths import check_dir
    from rnnbench.sweep import MAX_RUNS, failure_hint, load_sweep, run_sweep

    store_root = check_dir(args.store, "--store", write=not args.dry_run)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    if args.max_runs is not None and args.max_runs < 1:
        raise InputError(f"--max-runs must be >= 1, got {args.max_runs}")
    configs = load_sweep(args.sweep_file, max_runs=args.max_runs or MAX_RUNS)
    if args.dry_run:
        for config in configs:
            rid = store.run_id(config)
            path = store_root / rid
            state = store.run_state(path) if os.path.lexists(path) else None
            print(rid, "missing" if state is None or state.status == "empty" else
                  f"damaged: {state.problem}" if state.status == "damaged" else state.status)
        return 0
    summary = run_sweep(configs, store_root, workers=args.workers or _usable_cores(),
                        scheduler=args.scheduler, progress=not args.quiet)
    refused = f", {summary['refused']} refused" if summary["refused"] else ""
    print(f"{args.sweep_file}: {summary['total']} runs: {summary['done']} done, "
          f"{summary['diverged']} diverged, {summary['failed']} failed, {summary['skipped']} already "
          f"finished{refused}", file=sys.stderr)
    for line in failure_hint(summary, args.store):
        print(f"rnnbench sweep: {line}", file=sys.stderr)
    return 1 if summary["failed"] or summary["refused"] else 0

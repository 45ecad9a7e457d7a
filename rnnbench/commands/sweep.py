"""`rnnbench sweep SWEEP.toml --store runs/`: run every run of a grid that the store does not have yet.

    rnnbench sweep rnnbench/sweeps/adding.toml --store runs/ --workers 4
    rnnbench sweep adding --store runs/ --dry-run         # a shipped sweep by name: list its runs
    rnnbench sweep rnnbench/sweeps/adding.toml --store /shared/runs --scheduler tcp://10.0.0.1:8786

Finished runs (done or diverged) are skipped; failed runs are retried. Exit code 1 if any run failed.
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
    where.add_argument("--workers", type=int, default=_usable_cores(),
                       help="local worker processes, one core each (default: the cores this process may use)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on this Dask scheduler's workers instead; they must see --store at the same path")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and whether each is finished")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args):
    from pathlib import Path

    from rnnbench import store
    from rnnbench.errors import InputError
    from rnnbench.sweep import load_sweep, run_sweep

    if args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    configs = load_sweep(args.sweep_file)
    if args.dry_run:
        for config in configs:
            rid = store.run_id(config)
            status = store.read_status(Path(args.store) / rid) or {}
            print(rid, status.get("status", "missing"))
        return 0
    summary = run_sweep(configs, args.store, workers=args.workers, scheduler=args.scheduler,
                        progress=not args.quiet)
    print(f"{args.sweep_file}: {summary['total']} runs: {summary['done']} done, {summary['diverged']} diverged, "
          f"{summary['failed']} failed, {summary['skipped']} already finished", file=sys.stderr)
    if summary["failed"]:
        print(f"rnnbench sweep: {summary['failed']} runs failed (errors in `rnnbench runs --store {args.store} "
              f"--status failed`); rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0

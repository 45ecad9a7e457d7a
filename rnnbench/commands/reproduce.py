"""`rnnbench reproduce [--quick | --full]`: run the built-in experiment suite into a store, then write its report.

The suites are sweep files in rnnbench/sweeps/ (run through rnnbench.sweep.run_sweep, so a killed reproduce
resumes where it stopped). --quick: adding at T = 50, 100 (rnn, gru, lstm, peephole, 1 seed), whose gradient
norms at initialization and after training make the gradient figure, plus `rnnbench bench --quick`. --full: the
publication grid (adding T = 100..750, copy T = 100, 200, timing, forecasting, 3 seeds) plus the full
`rnnbench bench`. The bench runs against PyTorch where it is installed (else rnnbench alone) into
<store>/bench.json, which the report's speed section reads; a resumed reproduce keeps a bench already there.
"""
import time
from pathlib import Path

HELP = "run the built-in experiment suite (resumable) and write its report"

SWEEPS = Path(__file__).resolve().parent.parent / "sweeps"
SUITES = {
    "quick": ["quick/adding.toml"],
    "full": ["full/adding.toml", "full/copy.toml", "timing.toml", "forecasting.toml"],
}
# `rnnbench bench` arguments per suite (besides --against and --out)
BENCH_ARGS = {"quick": ["--quick"], "full": []}
# effective FLOP/s of one worker on a training step (forward + backward + update), for the time estimate only
FLOPS_PER_WORKER = 2e9


def add_arguments(parser):
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the small suite (default): minutes on 2 cores")
    size.add_argument("--full", action="store_true", help="the publication grid (hours to days on 2 cores)")
    parser.add_argument("--store", default=None, help="run store (default: runs/quick or runs/full)")
    parser.add_argument("--out", default=None, help="report directory (default: reports/quick or reports/full)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    where.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")


def suite_configs(name):
    """The normalized configs of a built-in suite."""
    from rnnbench.sweep import load_sweep

    return [c for f in SUITES[name] for c in load_sweep(SWEEPS / f)]


def expected_seconds(configs, workers):
    """Rough wall time: 6 FLOP per weight per step and sample (forward + backward) at FLOPS_PER_WORKER."""
    from rnnbench.cells import get_cell

    flop = 0.0
    for c in configs:
        G = get_cell(c["cell"]).gates
        H, T = c["hidden"], c["seq_len"]
        flop += 6.0 * G * H * (H + 2) * T * c["batch"] * max(c["steps"], 1) * c["layers"]
    return flop / (FLOPS_PER_WORKER * max(1, workers))


def bench(name, store):
    """Run the suite's `rnnbench bench` into store/bench.json, in a fresh process (its own thread settings),
    unless an earlier, interrupted reproduce already wrote one there."""
    import importlib.util
    import subprocess
    import sys

    if (store / "bench.json").is_file():
        print(f"bench: keeping {store / 'bench.json'}", flush=True)
        return
    against = "torch" if importlib.util.find_spec("torch") else "none"
    print(f"bench: rnnbench bench {' '.join(BENCH_ARGS[name])} --against {against}", flush=True)
    subprocess.run([sys.executable, "-m", "rnnbench", "bench", *BENCH_ARGS[name], "--against", against,
                    "--out", str(store)], check=False)


def run(args):
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
    configs = suite_configs(name)
    est = expected_seconds(configs, args.workers if args.scheduler is None else 1)
    print(f"reproduce --{name}: {len(configs)} runs into {store}; expected time about {est / 3600:.1f} h "
          f"({est / 60:.0f} min) plus compilation, on {args.workers} workers", flush=True)
    start = time.perf_counter()
    summary = run_sweep(configs, store, workers=args.workers, scheduler=args.scheduler)
    print(f"sweep: {summary} in {time.perf_counter() - start:.0f} s", flush=True)
    bench(name, store)
    command = "rnnbench reproduce --" + name + f" --store {store} --out {out}"
    path = build_report(store, out, command=command)
    print(f"report written to {path} in {time.perf_counter() - start:.0f} s total")
    return 0

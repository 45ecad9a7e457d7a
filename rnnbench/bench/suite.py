"""run_bench: time rnnbench backends against PyTorch and JAX on the same shapes, dtype and threads, in one
process.

Passes: `forward` and `forward+backward` of one layer per shape and cell, and `train-step`: one optimizer step
of the adding model (training.py) per cell, against the same step in PyTorch. For every measurement the
workloads of all backends and comparators are timed interleaved (timing.time_interleaved) and checked to
agree numerically (workloads.max_rel_diff) before their times are reported. One row per (shape, cell, pass,
backend), with a time and a ratio rnnbench / framework per comparator (below 1: rnnbench is faster).
"""
import statistics

from rnnbench.bench import comparators
from rnnbench.bench.flops import PASSES, layer_flop
from rnnbench.bench.machine import machine_meta
from rnnbench.bench.options import DEFAULT_SHAPES, TRAIN_SHAPE, check_settings, default_cells
from rnnbench.bench.roofline import GEMM_REPEATS, GEMM_SHAPE, gemm_gflops
from rnnbench.bench.threads import thread_limit
from rnnbench.bench.timing import time_interleaved
from rnnbench.bench.training import RnnbenchTrainStep, TorchTrainStep, adding_config
from rnnbench.bench.workloads import RnnbenchWorkload, make_data, max_rel_diff

# above this max_rel_diff the two sides disagree by more than rounding: the row is flagged on progress
TOLERANCE = {"float32": 1e-3, "float64": 1e-9}
METHOD = {"forward": "forward", "forward+backward": "train_step", "train-step": "step"}
# the comparators of the train-step pass: a JAX training loop would be a model of its own, not a layer
TRAIN_STEP_COMPARATORS = ("torch",)


def _measure(pass_, ours, theirs, repeats, warmup):
    """Median times of every workload in ours (backend -> workload) and theirs ((name, device) -> workload)
    as one dict."""
    workloads = {**ours, **theirs}
    # a training step's results() takes one more step after the timed ones and compares the updates, so
    # both sides must take equally many: one lead-in call each (a 10-100 ms step outlasts any worker's spin)
    times = time_interleaved([getattr(w, METHOD[pass_]) for w in workloads.values()], repeats, warmup,
                             lead_in_s=0 if pass_ == "train-step" else None)
    return {key: statistics.median(ts) for key, ts in zip(workloads, times)}


def _theirs(names, backends, make):
    """(name, device) -> make(name, device) for every comparator and the devices the backends need."""
    return {(n, d): make(n, d) for n in names for d in sorted({comparators.device(n, b) for b in backends})}


def _rows(cell, shape, pass_, ours, theirs, times, settings):
    """One row per backend: its time and, per comparator, the time it was compared with and the ratio."""
    T, B, I, H = shape
    flop = layer_flop(cell, T, B, I, H, pass_)
    # once per workload: a training step's results() takes one more step
    their_results = {key: w.results() for key, w in theirs.items()}
    rows = []
    for b, w in ours.items():
        row = dict(cell=cell, backend=b, against="none", T=T, B=B, I=I, H=H, **settings, **{"pass": pass_},
                   time_s=times[b], gflops=flop / times[b] / 1e9, flop=flop, max_rel_diff=None,
                   max_rel_diff_with=None)
        row.update({f"{n}_{k}": None for n in comparators.COMPARATORS for k in ("time_s", "ratio")})
        labels, ours_results = [], w.results() if theirs else None
        for name in comparators.COMPARATORS:
            key = (name, comparators.device(name, b))
            if key not in theirs:
                continue
            labels.append(comparators.label(*key))
            row[f"{name}_time_s"] = times[key]
            row[f"{name}_ratio"] = times[b] / times[key]
            diff = max_rel_diff(ours_results, their_results[key])
            if row["max_rel_diff"] is None or diff > row["max_rel_diff"]:
                row["max_rel_diff"], row["max_rel_diff_with"] = diff, labels[-1]
        row["against"] = ",".join(labels) or "none"
        rows.append(row)
    return rows


def run_bench(cells=None, shapes=DEFAULT_SHAPES, backends=("cpu",), against="torch,jax",
              dtype="float32", threads=2, repeats=7, warmup=1, passes=PASSES, train_shape=TRAIN_SHAPE,
              progress=None):
    """Time each backend and each comparator; returns (rows, meta) as bench.json holds them.

    cells: names, each run with its default nonlinearity (None: every cell all `backends` implement);
    shapes: (T, B, I, H) tuples for the layer passes; backends: rnnbench backend names; against: "none", or
    comparator names ("torch,jax" or a sequence): JAX is skipped with a note where it is not installed;
    passes: among forward, forward+backward, train-step; train_shape: (T, B, H) of the train-step pass;
    threads: for Numba, BLAS/OpenMP, PyTorch and JAX; repeats: timed calls per workload (median reported)
    after `warmup` untimed ones; progress: None or callable(str) for status lines.
    """
    backends, passes = tuple(backends), tuple(passes)
    cells = default_cells(backends) if cells is None else tuple(cells)
    shapes, train_shape = tuple(tuple(s) for s in shapes), tuple(train_shape)
    check_settings(cells, shapes, backends, dtype, repeats, warmup, passes, train_shape)
    say = progress or (lambda line: None)
    names = comparators.usable(comparators.parse_against(against), cells, say)
    layer_passes = [p for p in passes if p != "train-step"]
    settings = dict(dtype=dtype, threads=threads, repeats=repeats)
    rows = []
    with thread_limit(threads):
        if "jax" in names:
            from rnnbench.bench.jax_cells import start_cpu
            start_cpu(threads)
        say(f"measuring the GEMM roofline ({'x'.join(map(str, GEMM_SHAPE))}, {threads} threads)")
        meta = machine_meta(threads, dtype)
        if meta["loadavg_1min"] is not None and meta["loadavg_1min"] > meta["cores"]:
            say(f"WARNING: load average {meta['loadavg_1min']:.1f} on {meta['cores']} cores: other work "
                "competes with the threads timed here; expect noisy times")
        meta["sgemm_gflops"], meta["njit_dot_gflops"], meta["packed_gemm_gflops"] = gemm_gflops("float32")
        # the roofline for %peak: the best of the three GEMM rates, in the run's dtype
        meta["peak_gflops"] = max(gemm_gflops(dtype) if dtype != "float32" else
                                  (meta["sgemm_gflops"], meta["njit_dot_gflops"], meta["packed_gemm_gflops"]))
        meta.update(gemm_shape=list(GEMM_SHAPE), gemm_repeats=GEMM_REPEATS, repeats=repeats, warmup=warmup,
                    against=list(names), passes=list(passes),
                    train_shape=list(train_shape) if "train-step" in passes else None)
        total = len(cells) * (len(shapes) * len(layer_passes) + ("train-step" in passes))
        done = 0
        for shape in shapes if layer_passes else ():
            x, d_output = make_data(*shape, dtype)
            for cell in cells:
                ours = {b: RnnbenchWorkload(cell, b, x, d_output) for b in backends}
                state = next(iter(ours.values())).state_dict()
                theirs = _theirs(names, backends,
                                 lambda n, d: comparators.workload(n, cell, state, x, d_output, d))
                for pass_ in layer_passes:
                    done += 1
                    times = _measure(pass_, ours, theirs, repeats, warmup)
                    for row in _rows(cell, shape, pass_, ours, theirs, times, settings):
                        rows.append(row)
                        say(_status(done, total, row))
        if "train-step" in passes:
            T, B, H = train_shape
            for cell in cells:
                done += 1
                ours = {b: RnnbenchTrainStep(adding_config(cell, b, T, B, H, dtype)) for b in backends}
                first = next(iter(ours.values()))
                theirs = _theirs([n for n in names if n in TRAIN_STEP_COMPARATORS], backends,
                                 lambda n, d: TorchTrainStep(first, d))
                times = _measure("train-step", ours, theirs, repeats, warmup)
                shape = (T, B, first.input_size, H)
                for row in _rows(cell, shape, "train-step", ours, theirs, times, settings):
                    rows.append(row)
                    say(_status(done, total, row))
    return rows, meta


def _status(done, total, row):
    line = (f"[{done}/{total}] {row['cell']} {row['T']},{row['B']},{row['I']},{row['H']} {row['pass']}: "
            f"{row['backend']} {row['time_s'] * 1e3:.2f} ms")
    for name in comparators.COMPARATORS:
        if row[f"{name}_time_s"] is not None:
            line += f", {name} {row[f'{name}_time_s'] * 1e3:.2f} ms (ratio {row[f'{name}_ratio']:.2f})"
    if row["max_rel_diff"] is not None and row["max_rel_diff"] > TOLERANCE[row["dtype"]]:
        line += (f"  WARNING: results differ from {row['max_rel_diff_with']} by {row['max_rel_diff']:.1e} "
                 "(relative)")
    return line

"""run_bench: time rnnbench backends against PyTorch on the same shapes, dtype and threads, in one process.

For every shape, cell and pass (forward; forward+backward) the workloads of all backends and of the
comparator are timed interleaved (timing.time_interleaved) and checked to agree numerically
(workloads.max_rel_diff) before their times are reported. One row per (shape, cell, pass, backend).
"""
import statistics

from rnnbench.bench.flops import PASSES, layer_flop
from rnnbench.bench.machine import machine_meta
from rnnbench.bench.options import DEFAULT_SHAPES, check_settings
from rnnbench.bench.roofline import GEMM_REPEATS, GEMM_SHAPE, gemm_gflops
from rnnbench.bench.threads import thread_limit
from rnnbench.bench.timing import time_interleaved
from rnnbench.bench.workloads import RnnbenchWorkload, TorchWorkload, make_data, max_rel_diff
from rnnbench.cells import CELLS

# above this max_rel_diff the two sides disagree by more than rounding: the row is flagged on progress
TOLERANCE = {"float32": 1e-3, "float64": 1e-9}


def _comparator_device(backend):
    # cuda rows are compared with PyTorch on the GPU (cuDNN) when there is one, others with PyTorch on CPU
    import torch
    return "cuda" if backend == "cuda" and torch.cuda.is_available() else "cpu"


def _measure(pass_, ours, theirs, repeats, warmup):
    """Median times of every workload in ours (backend -> workload) and theirs (device -> workload)."""
    workloads = list(ours.values()) + list(theirs.values())
    method = "forward" if pass_ == "forward" else "train_step"
    times = time_interleaved([getattr(w, method) for w in workloads], repeats, warmup)
    names = list(ours) + [("against", d) for d in theirs]
    return {name: statistics.median(ts) for name, ts in zip(names, times)}


def run_bench(cells=tuple(CELLS), shapes=DEFAULT_SHAPES, backends=("cpu",), against="torch", dtype="float32",
              threads=2, repeats=7, warmup=1, passes=PASSES, progress=None):
    """Time each backend and the comparator; returns (rows, meta) as bench.json holds them.

    cells: names (rnn runs with tanh); shapes: (T, B, I, H) tuples; backends: rnnbench backend names;
    against: "torch" or "none"; threads: for Numba, BLAS/OpenMP and PyTorch; repeats: timed calls per
    workload (median reported) after `warmup` untimed ones; progress: None or callable(str) for status lines.
    """
    cells, backends, shapes = tuple(cells), tuple(backends), tuple(tuple(s) for s in shapes)
    check_settings(cells, shapes, backends, against, dtype, repeats, warmup, passes)
    say = progress or (lambda line: None)
    rows = []
    with thread_limit(threads):
        say(f"measuring the GEMM roofline ({'x'.join(map(str, GEMM_SHAPE))}, {threads} threads)")
        meta = machine_meta(threads, dtype)
        if meta["loadavg_1min"] is not None and meta["loadavg_1min"] > meta["cores"]:
            say(f"WARNING: load average {meta['loadavg_1min']:.1f} on {meta['cores']} cores: other work "
                "competes with the threads timed here; expect noisy times")
        meta["sgemm_gflops"], meta["njit_dot_gflops"], meta["packed_gemm_gflops"] = gemm_gflops("float32")
        # the roofline for %peak: the best of the three GEMM rates, in the run's dtype
        meta["peak_gflops"] = max(gemm_gflops(dtype) if dtype != "float32" else
                                  (meta["sgemm_gflops"], meta["njit_dot_gflops"], meta["packed_gemm_gflops"]))
        meta.update(gemm_shape=list(GEMM_SHAPE), gemm_repeats=GEMM_REPEATS, repeats=repeats, warmup=warmup)
        total, done = len(shapes) * len(cells) * len(passes), 0
        for T, B, I, H in shapes:
            x, d_output = make_data(T, B, I, H, dtype)
            for cell in cells:
                ours = {b: RnnbenchWorkload(cell, b, x, d_output) for b in backends}
                state = next(iter(ours.values())).state_dict()
                theirs = {} if against == "none" else {
                    d: TorchWorkload(cell, state, x, d_output, d) for d in {_comparator_device(b) for b in backends}}
                for pass_ in passes:
                    done += 1
                    times = _measure(pass_, ours, theirs, repeats, warmup)
                    flop = layer_flop(cell, T, B, I, H, pass_)
                    for b, w in ours.items():
                        row = dict(cell=cell, backend=b, against=against, T=T, B=B, I=I, H=H, dtype=dtype,
                                   threads=threads, **{"pass": pass_}, time_s=times[b], against_time_s=None,
                                   ratio=None, gflops=flop / times[b] / 1e9, repeats=repeats, flop=flop,
                                   max_rel_diff=None)
                        if theirs:
                            device = _comparator_device(b)
                            if device != "cpu":
                                row["against"] = f"{against}-{device}"
                            row["against_time_s"] = times[("against", device)]
                            row["ratio"] = row["time_s"] / row["against_time_s"]
                            row["max_rel_diff"] = max_rel_diff(w.results(), theirs[device].results())
                        rows.append(row)
                        say(_status(done, total, row))
    return rows, meta


def _status(done, total, row):
    line = (f"[{done}/{total}] {row['cell']} {row['T']},{row['B']},{row['I']},{row['H']} {row['pass']}: "
            f"{row['backend']} {row['time_s'] * 1e3:.2f} ms")
    if row["against_time_s"] is not None:
        line += f", {row['against']} {row['against_time_s'] * 1e3:.2f} ms, ratio {row['ratio']:.2f}"
        if row["max_rel_diff"] > TOLERANCE[row["dtype"]]:
            line += f"  WARNING: results differ by {row['max_rel_diff']:.1e} (relative)"
    return line

"""`rnnbench bench` as a library: time rnnbench backends against PyTorch and JAX, with a measured GEMM
roofline.

    rows, meta = rnnbench.bench.run_bench(cells=("lstm",), shapes=((100, 64, 2, 128),), backends=("cpu",))
    print(format_table(rows, meta)); write_results(rows, meta, "out/")     # bench.csv, bench.json

Modules: suite (run_bench), workloads (the timed rnnbench, PyTorch and JAX layers), training (the timed
training steps), comparators (which frameworks, on which device), torch_cells (PyTorch comparators incl. the
peephole loop), jax_cells (jitted lax.scan comparators), timing, flops, roofline (GEMM probe), threads,
machine, options, output.
"""
from rnnbench.bench.options import DEFAULT_SHAPES, QUICK_SHAPES, QUICK_TRAIN_SHAPE, TRAIN_SHAPE
from rnnbench.bench.output import format_table, write_results
from rnnbench.bench.suite import run_bench

__all__ = ["run_bench", "format_table", "write_results", "DEFAULT_SHAPES", "QUICK_SHAPES", "TRAIN_SHAPE",
           "QUICK_TRAIN_SHAPE"]

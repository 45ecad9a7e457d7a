"""JIT cost as a user feels it: a fresh process's first forward+backward, from an empty and a warm cache.

Each sample runs a new interpreter (imports included) on a tiny problem, with NUMBA_CACHE_DIR pointing
at a directory made empty in setup (cold) or filled by one earlier run (warm). cold - warm is the
compile time that `cache=True` saves on every later start.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from benchmarks import common

# self-contained: the child imports only rnnbench, which need not sit beside the benchmarks
FIRST_CALL = """
import sys
import numpy as np
import rnnbench
cell, backend = sys.argv[1], sys.argv[2]
m = rnnbench.RNN(cell, input_size=2, hidden_size=2, backend=backend, dtype="float32", seed=0)
out = m.forward(np.ones((2, 2, 2), np.float32))
m.backward(out, np.ones_like(out.output))
"""


def first_call(cell, backend, cache_dir):
    """Run FIRST_CALL in a fresh interpreter with Numba's cache in `cache_dir`."""
    # the child must import the rnnbench this process imported, however asv arranged sys.path
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    subprocess.run([sys.executable, "-c", FIRST_CALL, cell, backend], env=env, check=True, timeout=600)


class _Startup:
    params = (common.CELLS, common.BACKENDS)
    param_names = ["cell", "backend"]
    number = 1                # one process start per sample; setup (a fresh cache dir) runs before each
    rounds = 1                # seconds per sample: a few samples in one round are enough
    repeat = (1, 3, 60.0)
    warmup_time = 0
    timeout = 1200
    cache_dir = None          # asv may call teardown for a skipped (NotImplementedError) point

    def setup(self, cell, backend):
        common.require_backend(backend, cell)
        self.cache_dir = tempfile.mkdtemp(prefix="rnnbench-asv-numba-")

    def teardown(self, cell, backend):
        if self.cache_dir is not None:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


class ColdStart(_Startup):
    def time_cold_cache(self, cell, backend):
        first_call(cell, backend, self.cache_dir)


class WarmStart(_Startup):
    def setup(self, cell, backend):
        super().setup(cell, backend)
        first_call(cell, backend, self.cache_dir)

    def time_warm_cache(self, cell, backend):
        first_call(cell, backend, self.cache_dir)

"""Peak resident memory of forward+backward over a long sequence, where the BPTT cache dominates.

asv's peakmem counts the whole process (interpreter, imports, setup), so the series is meaningful as a
trend across commits and as a difference between cells, not as an absolute size of the cache.
"""
from benchmarks import common


class LongSequence:
    params = (common.CELLS, common.BACKENDS, common.LONG_SHAPES)
    param_names = ["cell", "backend", "shape"]
    timeout = 600

    def setup(self, cell, backend, shape):
        self.workload = common.workload(cell, backend, shape)

    def peakmem_forward_backward(self, cell, backend, shape):
        self.workload.train_step()

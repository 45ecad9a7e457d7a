"""Kernel speed: one layer's forward and forward+backward (BPTT) per cell x backend x shape.

forward+backward takes a fixed seeded dL/d(output) on every step and computes all parameter gradients
and dL/dx. The cuda series is skipped where no GPU is present; its timings include host<->device copies,
as the RNN API returns NumPy arrays.
"""
from benchmarks import common


class Cells:
    params = (common.CELLS, common.BACKENDS, common.SHAPES)
    param_names = ["cell", "backend", "shape"]
    timeout = 300

    def setup(self, cell, backend, shape):
        self.workload = common.workload(cell, backend, shape)

    def time_forward(self, cell, backend, shape):
        self.workload.forward()

    def time_forward_backward(self, cell, backend, shape):
        self.workload.train_step()

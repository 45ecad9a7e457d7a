"""Kernel speed: one layer's forward and forward+backward (BPTT) per cell x backend x shape.

The cuda series is skipped where no GPU is present; its timings include host<->device copies, as the
RNN API returns NumPy arrays.
"""
from benchmarks import common


class Cells:
    params = (common.CELLS, common.BACKENDS, common.SHAPES)
    param_names = ["cell", "backend", "shape"]
    timeout = 300

    def setup(self, cell, backend, shape):
        self.model, self.x, self.d_output = common.problem(cell, backend, shape)

    def time_forward(self, cell, backend, shape):
        self.model.forward(self.x)

    def time_forward_backward(self, cell, backend, shape):
        self.model.backward(self.model.forward(self.x), self.d_output)

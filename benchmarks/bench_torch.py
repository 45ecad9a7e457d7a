"""PyTorch on the shapes of bench_cells, as the comparison series: nn.RNN (tanh), nn.GRU, nn.LSTM and an
eager peephole loop (rnnbench.bench.torch_cells), same parameters and data, on the CPU and, where torch
sees a GPU, on CUDA (cuDNN). Skipped when torch is absent. Threads: each library's default (all cores).

forward runs under torch.no_grad(); forward+backward runs autograd from the same dL/d(output).
"""
from benchmarks import common


class Torch:
    params = (common.CELLS, ["cpu", "cuda"], common.SHAPES)
    param_names = ["cell", "device", "shape"]
    timeout = 300

    def setup(self, cell, device, shape):
        self.workload = common.torch_workload(cell, device, shape)

    def time_forward(self, cell, device, shape):
        self.workload.forward()

    def time_forward_backward(self, cell, device, shape):
        self.workload.train_step()

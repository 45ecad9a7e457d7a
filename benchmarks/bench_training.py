"""One training step of the full model (RNN + readout + loss + BPTT + clipping + Adam) on adding and copy, in
rnnbench and, as the comparison series, in PyTorch.

The config is rnnbench's default (hidden 128, batch 50, Adam lr 1e-3, clip by global norm 1) at each sequence
length; T = 400 is issue 14's training-step point. The workloads are `rnnbench bench`'s train-step pass
(rnnbench.bench.training): rnnbench.train.train_step, exactly what `rnnbench train` runs per step, and the
same step in PyTorch (nn.RNN/GRU/LSTM or the peephole loop, nn.Linear readout, the task's loss,
clip_grad_norm_, torch.optim.Adam) from the same weights on the same batch, drawn in setup, so the time is
the step's compute, not data generation. Threads: each library's default, as in bench_torch.
"""
from benchmarks import common

SEQ_LENS = [20, 100, 400]


class TrainStep:
    params = (common.TASKS, common.CELLS, common.BACKENDS, SEQ_LENS)
    param_names = ["task", "cell", "backend", "seq_len"]
    timeout = 600

    def setup(self, task, cell, backend, seq_len):
        self.workload = common.train_step(task, cell, backend, seq_len)
        self.workload.step()            # compile, first touch

    def time_train_step(self, task, cell, backend, seq_len):
        self.workload.step()


class TorchTrainStep:
    params = (common.TASKS, common.CELLS, ["cpu", "cuda"], SEQ_LENS)
    param_names = ["task", "cell", "device", "seq_len"]
    timeout = 600

    def setup(self, task, cell, device, seq_len):
        self.workload = common.torch_train_step(task, cell, device, seq_len)
        self.workload.step()            # first touch, autograd's and Adam's buffers

    def time_train_step(self, task, cell, device, seq_len):
        self.workload.step()

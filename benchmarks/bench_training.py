"""One training step of the full model (RNN + readout + loss + BPTT + clipping + Adam) on adding and copy.

The config is rnnbench's default (hidden 128, batch 50, Adam, clip by norm 1) at each sequence length;
the batch is drawn in setup, so the time is the step's compute, not data generation.
"""
from benchmarks import common


class TrainStep:
    params = (common.TASKS, common.CELLS, common.BACKENDS, [20, 100, 500])
    param_names = ["task", "cell", "backend", "seq_len"]
    timeout = 600

    def setup(self, task, cell, backend, seq_len):
        from rnnbench.train import build, train_step
        common.require_backend(backend)
        self.config = common.train_config(task, cell, backend, seq_len)
        self.task, self.model, self.optimizer, rng, _ = build(self.config)
        self.batch = self.task.batch(rng, self.config["batch"])
        self.step = train_step
        self.step(self.task, self.model, self.optimizer, self.batch, self.config)    # compile, first touch

    def time_train_step(self, task, cell, backend, seq_len):
        self.step(self.task, self.model, self.optimizer, self.batch, self.config)

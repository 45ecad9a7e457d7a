"""The training-step workloads: one optimizer step of a task's model, as `rnnbench train` runs it, and in
PyTorch.

RnnbenchTrainStep runs rnnbench.train.train_step (forward, the task's loss, backward, clip, optimizer update)
on the model, optimizer and batch rnnbench.train.build makes from a config: exactly what `rnnbench train`
does per step, less drawing the batch. TorchTrainStep runs the same step in PyTorch from the same initial
weights on the same batch: the layer of torch_cells.torch_layer (nn.RNN/GRU/LSTM, or the peephole loop)
plus nn.Linear(H, O) as the readout (on the last step's state for mse tasks, on every step for
cross-entropy ones), the task's loss, torch.nn.utils.clip_grad_norm_ and torch.optim.Adam.

Both expose step() (one timed optimizer step) and results(): the loss and the parameter update of one
further, untimed step. Both sides take the same number of steps on the same batch, so after the same
training history the updates agree to rounding where the forward, the gradients, the clipping and Adam do.
"""
import numpy as np

from rnnbench.config import normalize
from rnnbench.errors import InputError
from rnnbench.tensors import to_numpy
from rnnbench.train import build, train_step

# the adding model of issue 14: Adam lr 1e-3, clipping by global norm 1 (rnnbench's training defaults)
ADDING = {"task": "adding", "optimizer": "adam", "lr": 1e-3, "clip_mode": "norm", "clip": 1.0, "layers": 1}


def adding_config(cell, backend, T, B, H, dtype, seed=0):
    """The normalized training config of the adding model at sequence length T, batch B, hidden size H."""
    return normalize(dict(ADDING, cell=cell, backend=backend, seq_len=T, batch=B, hidden=H, dtype=dtype,
                          seed=seed, test_size=1, checkpoint_every=0))


class RnnbenchTrainStep:
    """One training step of `config`'s model (rnnbench.train.train_step) on one fixed batch drawn at start."""

    def __init__(self, config):
        self.config = config
        self.task, self.model, self.optimizer, rng, _ = build(config)
        self.batch = self.task.batch(rng, config["batch"])
        self.input_size = self.task.input_size
        self._loss = None

    def state_dict(self):
        return self.model.state_dict()

    def step(self):
        self._loss = train_step(self.task, self.model, self.optimizer, self.batch, self.config)[0]

    def results(self):
        before = self.model.state_dict()
        self.step()
        after = self.model.state_dict()
        return {"loss": np.array([self._loss]), **{f"update {k}": after[k] - before[k] for k in after}}


class TorchTrainStep:
    """The same step in PyTorch on `device`, from the weights and batch of `ours` (a RnnbenchTrainStep
    that has not stepped yet)."""

    def __init__(self, ours, device="cpu"):
        import torch

        from rnnbench.bench.torch_cells import TORCH_DTYPES, torch_layer
        config, task, batch = ours.config, ours.task, ours.batch
        if config["optimizer"] != "adam" or config["clip_mode"] != "norm" or config["layers"] != 1:
            raise InputError("the PyTorch training step is written for one layer, Adam and clipping by norm")
        if batch.lengths is not None:
            raise InputError("the PyTorch training step takes equal-length sequences only")
        self.torch = torch
        dtype = TORCH_DTYPES[config["dtype"]]
        state = ours.state_dict()
        head = {k: torch.from_numpy(state.pop(f"readout.{k}")) for k in ("weight", "bias")}
        self.rnn = torch_layer(config["cell"], task.input_size, config["hidden"], config["dtype"], state)
        self.rnn.to(device)
        self.readout = torch.nn.Linear(config["hidden"], task.output_size, dtype=dtype)
        self.readout.load_state_dict(head)
        self.readout.to(device)
        self.named = {**dict(self.rnn.named_parameters()),
                      **{f"readout.{k}": p for k, p in self.readout.named_parameters()}}
        self.optimizer = torch.optim.Adam(self.named.values(), lr=config["lr"])
        self.clip, self.last = config["clip"], task.readout == "last"
        self.x = torch.from_numpy(np.asarray(batch.x, dtype=config["dtype"])).to(device)
        if task.loss == "mse":
            target = torch.from_numpy(np.asarray(batch.target, dtype=config["dtype"])).to(device)
            self.loss = lambda y: torch.nn.functional.mse_loss(y, target)
        else:
            labels = torch.from_numpy(np.asarray(batch.target)).reshape(-1).to(device)
            self.loss = lambda y: torch.nn.functional.cross_entropy(y.reshape(-1, y.shape[-1]), labels)
        self._loss = None

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        output, state = self.rnn(self.x)
        h_n = state[0] if isinstance(state, tuple) else state        # (1, B, H)
        loss = self.loss(self.readout(h_n[-1] if self.last else output))
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.named.values(), self.clip)
        self.optimizer.step()
        self._loss = loss.item()       # the training loop records it; .item() also waits for a GPU

    def results(self):
        before = {k: p.detach().clone() for k, p in self.named.items()}
        self.step()
        return {"loss": np.array([self._loss]),
                **{f"update {k}": to_numpy(p.detach() - before[k]) for k, p in self.named.items()}}

"""The timed workloads: one recurrent layer on fixed seeded data, as rnnbench, PyTorch and JAX run it.

All sides expose forward() (the layer's forward pass for inference: rnnbench with grad=False, PyTorch
under no_grad, so neither keeps anything for a backward), train_step() (forward plus backward from a fixed
random dL/d(output) on all outputs, parameter gradients and dL/dx computed: one training step of the layer)
and results() -> {name: numpy array} of the last call's outputs (output; after train_step also dx and
the parameter gradients under PyTorch's state_dict names), so the bench can check that the two
sides computed the same numbers before it trusts their times. Data and parameters are made once, outside
any timing.
"""
import numpy as np

from rnnbench.network import RNN
from rnnbench.tensors import to_numpy


def make_data(T, B, I, H, dtype, seed=0):
    """x: (T, B, I) ~ N(0, 1) and d_output: (T, B, H) ~ N(0, 1), seeded."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((T, B, I)).astype(dtype), rng.standard_normal((T, B, H)).astype(dtype))


class RnnbenchWorkload:
    """One layer of `cell` (rnn = tanh) on an rnnbench backend, through the public RNN API."""

    def __init__(self, cell, backend, x, d_output, seed=0):
        # x: (T, B, I); d_output: (T, B, H)
        self.model = RNN(cell, x.shape[2], d_output.shape[2], backend=backend, dtype=str(x.dtype), seed=seed)
        self.x, self.d_output = x, d_output
        # a GPU backend may return before its kernels finish: a timed call must wait for them
        self._sync = getattr(self.model.backend, "synchronize", lambda: None)
        self._last = None

    def state_dict(self):
        return self.model.state_dict()

    def forward(self):
        self._last = (self.model.forward(self.x, grad=False), None)
        self._sync()

    def train_step(self):
        out = self.model.forward(self.x)
        self._last = (out, self.model.backward(out, self.d_output))
        self._sync()

    def results(self):
        out, g = self._last
        return {"output": out.output} if g is None else {"output": out.output, "dx": g.dx, **g.params}


class TorchWorkload:
    """The same layer in PyTorch (torch_cells.torch_layer) on `device`; forward runs under no_grad."""

    def __init__(self, cell, state_dict, x, d_output, device="cpu"):
        import torch

        from rnnbench.bench.torch_cells import torch_layer
        self.torch = torch
        self.module = torch_layer(cell, x.shape[2], d_output.shape[2], str(x.dtype), state_dict).to(device)
        self.x = torch.from_numpy(x).to(device).requires_grad_(True)
        self.d_output = torch.from_numpy(d_output).to(device)
        # kernels on a GPU are asynchronous: a timed call must wait for them
        self._sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        self._y, self._trained = None, False

    def forward(self):
        with self.torch.no_grad():
            self._y = self.module(self.x)[0]
        self._sync()
        self._trained = False

    def train_step(self):
        # fresh gradients each step (rnnbench allocates fresh ones too), never accumulated
        self.x.grad = None
        self.module.zero_grad(set_to_none=True)
        y = self.module(self.x)[0]
        y.backward(self.d_output)
        self._sync()
        self._y, self._trained = y, True

    def results(self):
        out = {"output": to_numpy(self._y)}
        if self._trained:
            out["dx"] = to_numpy(self.x.grad)
            out.update({k: to_numpy(p.grad) for k, p in self.module.named_parameters()})
        return out


class JaxWorkload:
    """The same layer in JAX (jax_cells: a jitted lax.scan, gradients from jax.vjp) on `device` ("cpu" or
    "gpu"); the bench starts JAX's CPU client first (jax_cells.start_cpu) so its threads are bounded."""

    def __init__(self, cell, state_dict, x, d_output, device="cpu"):
        import jax

        from rnnbench.bench.jax_cells import compiled
        self.jax = jax
        dev = jax.devices(device)[0]
        self.params, self.x, self.d_output = jax.device_put((state_dict, x, d_output), dev)
        self._forward, self._forward_backward = compiled(cell)
        self._last = None

    def forward(self):
        # JAX dispatches asynchronously: a timed call must wait for the result
        self._last = (self.jax.block_until_ready(self._forward(self.params, self.x)), None, None)

    def train_step(self):
        self._last = self.jax.block_until_ready(self._forward_backward(self.params, self.x, self.d_output))

    def results(self):
        output, d_params, dx = self._last
        out = {"output": np.asarray(output)}
        if d_params is not None:
            out["dx"] = np.asarray(dx)
            out.update({k: np.asarray(v) for k, v in d_params.items()})
        return out


def max_rel_diff(ours, theirs):
    """max |ours - theirs| / max |theirs| over every array of `theirs` (each scaled by its own max)."""
    worst = 0.0
    for key, ref in theirs.items():
        scale = float(np.max(np.abs(ref))) or 1.0
        worst = max(worst, float(np.max(np.abs(np.asarray(ours[key], np.float64) - ref))) / scale)
    return worst

"""Training on the GPU: a Model (rnnbench/model.py) whose parameters, gradients and optimizer state stay on
the device for the whole run. rnnbench.train.build() wraps a cuda-backend model and its optimizer with
on_device(), and rnnbench.train.train_step() hands each step to DeviceModel.train_step:

    model, optimizer = on_device(model, optimizer)                  # Model, rnnbench.optim optimizer
    loss, norm = model.train_step(task, optimizer, batch, config)   # as rnnbench.train.train_step

A step uploads the batch (inputs, lengths, targets), runs forward, readout, loss, backward, clipping and the
update on the device, and reads back 1 + P float64 numbers: the loss and each of the P gradients' sum of
squares, from which the host takes the metrics' train loss and global gradient norm, its divergence check and
the clipping factor. Evaluations (forward, grad=False) and the probe's gradient norms come back as host
arrays, as from Model; state_dict() and load_state_dict() copy the parameters off and onto the device
(checkpoints, resuming).
"""
import copy
import math
from typing import Any, NamedTuple

import numpy as np
from numba import cuda

from rnnbench.kernels.cuda.device import full, stack, to_device, to_host
from rnnbench.kernels.cuda.gemm import column_sums, matmul
from rnnbench.kernels.cuda.layer import backward_layer
from rnnbench.kernels.cuda.losses import LOSSES
from rnnbench.kernels.cuda.optim import DeviceOptimizer
from rnnbench.kernels.cuda.sums import add_sum
from rnnbench.network import Grads


def on_device(model, optimizer):
    """(DeviceModel, DeviceOptimizer) for a cuda-backend Model and a host optimizer from rnnbench.optim."""
    return DeviceModel(model), DeviceOptimizer(optimizer)


class DeviceForward(NamedTuple):
    rnn: Any                      # rnnbench.network.Forward, device arrays
    h: Any                        # device (N, H): the readout's input rows (h_n of the top layer, or every
                                  # output)


class DeviceModel:
    """Model's forward, backward, state_dict and load_state_dict, with its parameters on the device."""

    def __init__(self, model):
        self.host = model         # shapes, readout, state_dict checks; its own arrays are left as they were
        self.params = {key: cuda.to_device(v) for key, v in model.params().items()}       # state_dict keys
        self.rnn = copy.copy(model.rnn)                 # the same stack, reading the device parameters
        self.rnn._set_params([{name: self.params[f"{name}_l{k}"] for name in layer}
                              for k, layer in enumerate(model.rnn.params)])

    def state_dict(self):
        return {key: to_host(v) for key, v in self.params.items()}

    def load_state_dict(self, state_dict):
        self.host.load_state_dict(state_dict)
        for key, v in self.host.params().items():
            self.params[key].copy_to_device(v)

    def _forward(self, x, lengths, grad):
        """x: (T, B, I) host -> (device y (B, O) or (T, B, O), DeviceForward)."""
        fwd = self.rnn.forward(x, lengths=lengths, grad=grad, device_arrays=True)
        T, B, H = fwd.output.shape
        h = fwd.h_n[self.rnn.num_layers - 1] if self.host.readout == "last" else fwd.output.reshape(T * B, H)
        W = self.params["readout.weight"]
        y = matmul(h, W, cuda.device_array((h.shape[0], W.shape[0]), W.dtype), trans_b=True,
                   bias=self.params["readout.bias"])
        rows = (B,) if self.host.readout == "last" else (T, B)
        return y.reshape(rows + (W.shape[0],)), DeviceForward(fwd, h)

    def forward(self, x, lengths=None, grad=True):
        y, fwd = self._forward(x, lengths, grad)
        return to_host(y), fwd

    def _backward(self, fwd, dy, grad_norms=True):
        """dy: device dL/dy -> (gradients keyed like state_dict, the layers' LayerGrads from the top down)."""
        rnn, dtype = self.rnn, self.host.dtype
        caches, T, B = fwd.rnn.cache[:3]         # one direction (training has no bidirectional key)
        L, H = rnn.num_layers, rnn.hidden_size
        W = self.params["readout.weight"]
        flat_dy = dy.reshape(dy.size // W.shape[0], W.shape[0])
        head = {"readout.weight": matmul(flat_dy, fwd.h, cuda.device_array(W.shape, dtype), trans_a=True),
                "readout.bias": column_sums(flat_dy).reshape(W.shape[0])}
        d_h_n = full((L, B, H), 0, dtype)
        if self.host.readout == "last":
            matmul(flat_dy, W, d_h_n[L - 1])
            d_out = full((T, B, H), 0, dtype)
        else:
            d_out = matmul(flat_dy, W, cuda.device_array((T * B, H), dtype)).reshape(T, B, H)
        d_c_n = full((L, B, H), 0, dtype) if rnn.spec.has_cell_state else None
        grads, layers = {}, []
        for k in range(L - 1, -1, -1):          # rnnbench.network.RNN.backward's loop, on device arrays
                                                # throughout
            g = backward_layer(rnn.spec, rnn.nonlinearity, rnn.params[k], caches[k], d_out, d_h_n[k],
                               None if d_c_n is None else d_c_n[k], device_arrays=True,
                               grad_norms=grad_norms)
            grads.update({f"{name}_l{k}": v for name, v in g.params.items()})
            layers.insert(0, g)
            d_out = g.dx
        grads.update(head)
        return {key: grads[key] for key in self.params}, layers

    def backward(self, fwd, dy, grad_norms=True):
        """dy: host dL/dy -> (gradients keyed like state_dict on the device, the RNN's Grads: its norms on the
        host, None with grad_norms=False)."""
        grads, layers = self._backward(fwd, to_device(dy, self.host.dtype), grad_norms)
        has_c = self.rnn.spec.has_cell_state
        rnn_grads = {key: v for key, v in grads.items() if key not in self.host.head}
        g = Grads(rnn_grads, layers[0].dx, stack([lg.dh0 for lg in layers]),
                  stack([lg.dc0 for lg in layers]) if has_c else None,
                  np.stack([to_host(lg.h_norms) for lg in layers]) if grad_norms else None,
                  np.stack([to_host(lg.c_norms) for lg in layers]) if has_c and grad_norms else None)
        return grads, g

    def train_step(self, task, optimizer, batch, config):
        """One step of rnnbench.train.train_step on the device: (loss, global gradient norm before clipping);
        either NaN/Inf means the step was not applied."""
        sums = cuda.device_array(1 + len(self.params), dtype=np.float64)     # loss, then each sum of squares
        y, fwd = self._forward(batch.x, batch.lengths, True)
        dy = LOSSES[task.loss](y, batch.target, sums, 0)
        grads, _ = self._backward(fwd, dy, grad_norms=False)
        for i, g in enumerate(grads.values()):
            add_sum(g, sums, 1 + i, square=True)
        sums = sums.copy_to_host()
        loss = float(sums[0])
        if not math.isfinite(loss):
            return loss, math.nan
        norm = float(np.sqrt(sum(sums[1:])))      # rnnbench.optim.global_norm: float64, parameters in order
        if math.isfinite(norm):
            mode, limit = config["clip_mode"], config["clip"]
            coef = limit / (norm + 1e-6) if mode == "norm" else 1.0      # rnnbench.optim.clip's factor
            optimizer.step(self.params, grads, min(coef, 1.0), limit if mode == "value" else math.inf)
        return loss, norm

"""rnnbench.optim's optimizers with their state on the GPU: the same update, elementwise on device arrays.

    opt = DeviceOptimizer(make_optimizer("adam", lr=1e-3))    # a host optimizer: its kind and hyperparameters
    opt.step(params, grads, scale, bound)     # device arrays keyed alike; the gradient is clipped on the fly
    opt.state                                 # the host optimizer's .state layout, as host arrays
                                              # (checkpoints)

Clipping happens inside the update, on each gradient entry as it is read: min(max(g * scale, -bound), bound),
scale = max_norm / (norm + 1e-6) where that is below 1 ("norm"), bound = the clip value ("value"), else 1 and
inf: exactly what rnnbench.optim.clip does in place before the host optimizers' step. Scalars are passed in
the parameters' dtype, as the host optimizers cast them, so float32 updates stay float32 arithmetic.
"""
import math

import numpy as np
from numba import cuda

from rnnbench.kernels.cuda.device import TILE, full, to_host
from rnnbench.optim import SGD, Adam, RMSProp

THREADS = TILE * TILE


@cuda.jit(device=True)
def clipped(g, scale, bound):
    return min(max(g * scale, -bound), bound)


@cuda.jit(cache=True)
def sgd_kernel(p, g, buf, scale, bound, lr, momentum, use_buf, first):
    # p, g: (N,) a parameter and its gradient; buf: (N,) momentum buffer ((1,) placeholder without momentum);
    # first: the buffer starts as the gradient (torch.optim.SGD's first step)
    i = cuda.grid(1)
    if i < p.shape[0]:
        d = clipped(g[i], scale, bound)
        if use_buf:
            if not first:
                d += buf[i] * momentum
            buf[i] = d
        p[i] -= lr * d


@cuda.jit(cache=True)
def rmsprop_kernel(p, g, v, scale, bound, lr, alpha, one_minus_alpha, eps):
    # p, g, v: (N,) a parameter, its gradient and the running average of squared gradients
    i = cuda.grid(1)
    if i < p.shape[0]:
        d = clipped(g[i], scale, bound)
        v[i] = v[i] * alpha + one_minus_alpha * d * d
        p[i] -= lr * d / (math.sqrt(v[i]) + eps)


@cuda.jit(cache=True)
def adam_kernel(p, g, m, v, scale, bound, step_size, b1, one_minus_b1, b2, one_minus_b2, sqrt_bc2, eps):
    # p, g, m, v: (N,) a parameter, its gradient and the moving averages of the gradient and its square;
    # step_size = lr / (1 - beta1^step), sqrt_bc2 = sqrt(1 - beta2^step)
    i = cuda.grid(1)
    if i < p.shape[0]:
        d = clipped(g[i], scale, bound)
        m[i] = m[i] * b1 + one_minus_b1 * d
        v[i] = v[i] * b2 + one_minus_b2 * d * d
        p[i] -= step_size * m[i] / (math.sqrt(v[i]) / sqrt_bc2 + eps)


class DeviceOptimizer:
    """The host optimizer `opt` (rnnbench.optim SGD, RMSProp or Adam) updating device arrays, its state on the
    device: the same slots (`opt.state`'s keys) filled at the same steps."""

    def __init__(self, opt):
        self.opt = opt
        self._step = 0
        self._slots = {key: {} for key in opt.state if key != "step"}

    @property
    def state(self):
        return {"step": self._step, **{key: {name: to_host(a) for name, a in arrays.items()}
                                       for key, arrays in self._slots.items()}}

    @state.setter
    def state(self, state):
        self._step = state["step"]
        self._slots = {key: {name: cuda.to_device(np.ascontiguousarray(a)) for name, a in state[key].items()}
                       for key in self._slots}

    def _slot(self, key, name, p):
        """The state array `key` of parameter `name`, zeros at its first use (as the host optimizers'
        setdefault)."""
        arrays = self._slots[key]
        if name not in arrays:
            arrays[name] = full(p.shape, 0, p.dtype)
        return arrays[name]

    def step(self, params, grads, scale, bound):
        """params, grads: name -> device arrays; scale, bound: the clipping of every gradient entry (see
        above)."""
        self._step += 1
        opt = self.opt
        for name, p in params.items():
            t = p.dtype.type
            n = p.size
            args = (p.reshape(n), grads[name].reshape(n))
            clip = (t(scale), t(bound))
            launch = (max(1, -(-n // THREADS)), THREADS)
            if isinstance(opt, SGD):
                first = name not in self._slots["buf"]
                buf = self._slot("buf", name, p).reshape(n) if opt.momentum else cuda.device_array(1, p.dtype)
                sgd_kernel[launch](*args, buf, *clip, t(opt.lr), t(opt.momentum), bool(opt.momentum), first)
            elif isinstance(opt, RMSProp):
                v = self._slot("square_avg", name, p).reshape(n)
                rmsprop_kernel[launch](*args, v, *clip, t(opt.lr), t(opt.alpha), t(1 - opt.alpha), t(opt.eps))
            elif isinstance(opt, Adam):
                b1, b2 = opt.betas
                m, v = self._slot("exp_avg", name, p).reshape(n), self._slot("exp_avg_sq", name, p).reshape(n)
                bc1, bc2 = 1 - b1 ** self._step, 1 - b2 ** self._step
                adam_kernel[launch](*args, m, v, *clip, t(opt.lr / bc1), t(b1), t(1 - b1), t(b2), t(1 - b2),
                                    t(np.sqrt(bc2)), t(opt.eps))
            else:
                raise TypeError(f"no device version of the optimizer {type(opt).__name__}")

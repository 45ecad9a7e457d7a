"""Optimizers and gradient clipping over a dict of parameter arrays, updated in place, as torch.optim does.

    opt = make_optimizer("adam", lr=1e-3)                 # or "sgd" (momentum), "rmsprop" (alpha 0.9)
    norm = global_norm(grads)                             # before clipping, for the metrics
    clip(grads, "norm", 1.0)                              # torch.nn.utils.clip_grad_norm_ / clip_grad_value_
    opt.step(params, grads)                               # params: name -> array, changed in place

An optimizer's whole state is `opt.state` (plain dicts of arrays and ints), so a checkpoint can pickle it.
"""
import numpy as np

from rnnbench.errors import InputError


def global_norm(grads):
    """sqrt of the sum of squares of every gradient entry (float64 accumulation)."""
    return float(np.sqrt(sum(np.dot(g.ravel().astype(np.float64), g.ravel()) for g in grads.values())))


def clip(grads, mode, max_value, norm=None):
    """Clip in place. mode "norm": scale all by max_value / (norm + 1e-6) if below 1 (torch's clip_grad_norm_);
    "value": clamp each entry to [-max_value, max_value]; "none": nothing."""
    if mode == "norm":
        norm = global_norm(grads) if norm is None else norm
        coef = max_value / (norm + 1e-6)
        if coef < 1:
            for g in grads.values():
                g *= g.dtype.type(coef)
    elif mode == "value":
        for g in grads.values():
            np.clip(g, -max_value, max_value, out=g)
    elif mode != "none":
        raise InputError(f"unknown clip mode {mode!r}; expected norm, value or none")


class SGD:
    """torch.optim.SGD: buf = momentum * buf + g (buf = g at the first step); p -= lr * buf."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum = lr, momentum
        self.state = {"step": 0, "buf": {}}

    def step(self, params, grads):
        self.state["step"] += 1
        for name, p in params.items():
            g = grads[name]
            if self.momentum:
                buf = self.state["buf"].get(name)
                if buf is None:
                    buf = self.state["buf"][name] = g.copy()
                else:
                    buf *= p.dtype.type(self.momentum)
                    buf += g
                g = buf
            p -= p.dtype.type(self.lr) * g


class RMSProp:
    """torch.optim.RMSprop with alpha (decay) 0.9 as in Arjovsky et al. 2016: v = a v + (1 - a) g^2;
    p -= lr * g / (sqrt(v) + eps)."""

    def __init__(self, lr, alpha=0.9, eps=1e-8):
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.state = {"step": 0, "square_avg": {}}

    def step(self, params, grads):
        self.state["step"] += 1
        for name, p in params.items():
            g = grads[name]
            t = p.dtype.type
            v = self.state["square_avg"].setdefault(name, np.zeros_like(p))
            v *= t(self.alpha)
            v += t(1 - self.alpha) * g * g
            p -= t(self.lr) * g / (np.sqrt(v) + t(self.eps))


class Adam:
    """torch.optim.Adam (betas 0.9, 0.999, eps 1e-8, no weight decay):
    m, v moving averages; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc_i = 1 - beta_i^step."""

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.state = {"step": 0, "exp_avg": {}, "exp_avg_sq": {}}

    def step(self, params, grads):
        self.state["step"] += 1
        step = self.state["step"]
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1 ** step, 1 - b2 ** step
        for name, p in params.items():
            g = grads[name]
            t = p.dtype.type
            m = self.state["exp_avg"].setdefault(name, np.zeros_like(p))
            v = self.state["exp_avg_sq"].setdefault(name, np.zeros_like(p))
            m *= t(b1)
            m += t(1 - b1) * g
            v *= t(b2)
            v += t(1 - b2) * g * g
            p -= t(self.lr / bc1) * m / (np.sqrt(v) / t(np.sqrt(bc2)) + t(self.eps))


def make_optimizer(name, lr, momentum=None):
    """The optimizer `name` ("sgd", "rmsprop", "adam") with learning rate lr."""
    if name == "sgd":
        return SGD(lr, momentum or 0.0)
    if name == "rmsprop":
        return RMSProp(lr)
    if name == "adam":
        return Adam(lr)
    raise InputError(f"unknown optimizer {name!r}; expected sgd, rmsprop or adam")

"""Optimizers and gradient clipping over a dict of parameter arrays, updated in place, as torch.optim does.

    opt = make_optimizer("adam", lr=1e-3)                 # or "sgd" (momentum), "rmsprop" (alpha 0.9)
    norm = global_norm(grads)                             # before clipping, for the metrics
    clip(grads, "norm", 1.0)                              # torch.nn.utils.clip_grad_norm_ / clip_grad_value_
    ok = opt.step(params, grads)                          # params: name -> array, changed in place

An optimizer's whole state is `opt.state` (plain dicts of arrays and ints), so a checkpoint can save it.
A step whose update or state is not finite (Adam's g^2 overflowing float32, say) changes no parameter and
returns False, without a numpy warning: the caller ends the run as diverged.
"""
import math
import numbers

import numpy as np

from rnnbench.errors import InputError


def global_norm(grads):
    """sqrt of the sum of squares of every gradient entry (float64 accumulation)."""
    return float(np.sqrt(sum(np.dot(g.ravel().astype(np.float64), g.ravel()) for g in grads.values())))


CLIP_MODES = ("norm", "value", "none")


def clip(grads, mode, max_value, norm=None):
    """Clip in place. mode "norm": scale all by max_value / (norm + 1e-6) if below 1 (torch's
    clip_grad_norm_); "value": clamp each entry to [-max_value, max_value]; "none": nothing."""
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


def all_finite(a):
    """No NaN or Inf in a. One sum decides in the common case (NaN and Inf propagate through it); only a sum
    that overflowed from finite values needs the entry-by-entry check."""
    return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())


class Optimizer:
    """step() for every optimizer: each parameter's update and the state it touched are computed first, and
    applied only if all of them are finite."""

    def step(self, params, grads):
        """Update params in place from grads. Returns True, or False when an update or the optimizer's state
        is NaN/Inf (the run diverged): then no parameter was changed (the state is spoiled)."""
        self.state["step"] += 1
        updates = {}
        with np.errstate(over="ignore", invalid="ignore"):    # the overflow is detected, not warned about
            for name, p in params.items():
                update, touched = self._update(name, p, grads[name])
                if not all(all_finite(a) for a in (update, *touched)):
                    return False
                updates[name] = update
        for name, update in updates.items():
            params[name] -= update
        return True


class SGD(Optimizer):
    """torch.optim.SGD: buf = momentum * buf + g (buf = g at the first step); p -= lr * buf."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum = lr, momentum
        self.state = {"step": 0, "buf": {}}

    def _update(self, name, p, g):
        if not self.momentum:
            return p.dtype.type(self.lr) * g, ()
        buf = self.state["buf"].get(name)
        if buf is None:
            buf = self.state["buf"][name] = g.copy()
        else:
            buf *= p.dtype.type(self.momentum)
            buf += g
        return p.dtype.type(self.lr) * buf, (buf,)


class RMSProp(Optimizer):
    """torch.optim.RMSprop with alpha (decay) 0.9 as in Arjovsky et al. 2016: v = a v + (1 - a) g^2;
    p -= lr * g / (sqrt(v) + eps)."""

    def __init__(self, lr, alpha=0.9, eps=1e-8):
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.state = {"step": 0, "square_avg": {}}

    def _update(self, name, p, g):
        t = p.dtype.type
        v = self.state["square_avg"].setdefault(name, np.zeros_like(p))
        v *= t(self.alpha)
        v += t(1 - self.alpha) * g * g
        return t(self.lr) * g / (np.sqrt(v) + t(self.eps)), (v,)


class Adam(Optimizer):
    """torch.optim.Adam (betas 0.9, 0.999, eps 1e-8, no weight decay):
    m, v moving averages; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc_i = 1 - beta_i^step."""

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.state = {"step": 0, "exp_avg": {}, "exp_avg_sq": {}}

    def _update(self, name, p, g):
        step = self.state["step"]
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1 ** step, 1 - b2 ** step
        t = p.dtype.type
        m = self.state["exp_avg"].setdefault(name, np.zeros_like(p))
        v = self.state["exp_avg_sq"].setdefault(name, np.zeros_like(p))
        m *= t(b1)
        m += t(1 - b1) * g
        v *= t(b2)
        v += t(1 - b2) * g * g
        return t(self.lr / bc1) * m / (np.sqrt(v) / t(np.sqrt(bc2)) + t(self.eps)), (m, v)


def make_optimizer(name, lr, momentum=None):
    """The optimizer `name` ("sgd", "rmsprop", "adam") with learning rate lr."""
    for key, value in (("lr", lr), ("momentum", momentum or 0.0)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
                or value < 0):
            raise InputError(f"{key} must be a finite non-negative number, got {value!r}")
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise InputError(f"unknown optimizer {name!r}; expected sgd, rmsprop or adam")
    return OPTIMIZERS[name](lr, momentum or 0.0)


# the optimizers by name: (lr, momentum) -> optimizer; momentum is SGD's only
OPTIMIZERS = {"sgd": SGD, "rmsprop": lambda lr, momentum: RMSProp(lr), "adam": lambda lr, momentum: Adam(lr)}

"""The losses of rnnbench/losses.py on the device: loss into a float64 slot, gradient as a device array.

    mse(pred, target, out, slot) -> dpred          # out[slot] = mean((pred - target)^2)
    cross_entropy(logits, labels, out, slot) -> dlogits

Each computes in the same precision as the host version (mse's difference in float64, since targets are
float64; cross-entropy's log-softmax in the logits' dtype); only the order of the final sum differs.
"""
import math

import numpy as np
from numba import cuda, float64

from rnnbench.kernels.cuda.device import TILE
from rnnbench.kernels.cuda.sums import add_sum

THREADS = TILE * TILE


def _blocks(n):
    return max(1, -(-n // THREADS))


@cuda.jit(cache=True)
def mse_kernel(pred, target, scale, dpred, terms):
    # pred, dpred: (N,) model dtype; target: (N,) float64; scale: 2 / N; terms: (N,) float64 squared errors
    i = cuda.grid(1)
    if i < pred.shape[0]:
        d = float64(pred[i]) - target[i]
        dpred[i] = scale * d
        terms[i] = d * d


@cuda.jit(cache=True)
def cross_entropy_kernel(logits, labels, n, dlogits, terms):
    # logits, dlogits: (N, C) model dtype; labels: (N,) int64 in 0..C-1; n: N in the model dtype;
    # terms: (N,) -log softmax(logits)[label] per row
    i = cuda.grid(1)
    if i < logits.shape[0]:
        C = logits.shape[1]
        m = logits[i, 0]
        for c in range(1, C):
            m = max(m, logits[i, c])
        s = logits.dtype.type(0)
        for c in range(C):
            s += math.exp(logits[i, c] - m)
        lse = math.log(s)
        label = labels[i]
        for c in range(C):
            logp = (logits[i, c] - m) - lse
            g = math.exp(logp)
            if c == label:
                g -= logits.dtype.type(1)
                terms[i] = -logp
            dlogits[i, c] = g / n


def mse(pred, target, out, slot):
    """torch.nn.MSELoss: pred device (any shape), target host float64 of that shape -> device dL/dpred."""
    n = pred.size
    dpred = cuda.device_array(pred.shape, dtype=pred.dtype)
    terms = cuda.device_array(n, dtype=np.float64)
    target = cuda.to_device(np.ascontiguousarray(target, np.float64))
    mse_kernel[_blocks(n), THREADS](pred.reshape(n), target.reshape(n), 2 / n, dpred.reshape(n), terms)
    add_sum(terms, out, slot, divisor=float(n))
    return dpred


def cross_entropy(logits, labels, out, slot):
    """torch.nn.CrossEntropyLoss on class indices: logits device (..., C), labels host int (...)."""
    C = logits.shape[logits.ndim - 1]
    n = logits.size // C
    dlogits = cuda.device_array(logits.shape, dtype=logits.dtype)
    terms = cuda.device_array(n, dtype=logits.dtype)
    cross_entropy_kernel[_blocks(n), THREADS](
        logits.reshape(n, C), cuda.to_device(np.ascontiguousarray(labels, np.int64)).reshape(n),
        logits.dtype.type(n), dlogits.reshape(n, C), terms)
    add_sum(terms, out, slot, divisor=float(n))
    return dlogits


LOSSES = {"mse": mse, "ce": cross_entropy}

"""Losses with their gradients, as PyTorch defines them (reduction "mean").

    loss, dpred = mse(pred, target)                   # pred, target: same shape; mean over all elements
    loss, dlogits = cross_entropy(logits, labels)     # logits (..., C), labels (...) int; mean over labels
"""
import numpy as np


def mse(pred, target):
    """torch.nn.MSELoss: mean((pred - target)^2). pred, target: any equal shapes."""
    diff = pred - target
    return float(np.mean(diff * diff)), (2 / diff.size) * diff


def log_softmax(logits):
    """Over the last axis, shifted by the max so exp never overflows."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, labels):
    """torch.nn.CrossEntropyLoss on class indices: mean of -log softmax(logits)[label].
    logits: (..., C); labels: (...) integers in 0..C-1."""
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, labels[..., None], axis=-1)
    n = labels.size
    grad = np.exp(logp)
    np.put_along_axis(grad, labels[..., None], np.take_along_axis(grad, labels[..., None], axis=-1) - 1,
                      axis=-1)
    return float(-picked.sum() / n), grad / n


LOSSES = {"mse": mse, "ce": cross_entropy}

"""The CPU kernels' large per-call arrays, handed out again once nothing references them.

A fresh np.empty of tens of MB is not free: the OS maps its pages in zeroed, one fault at a time. Filling a
fresh (400, 50, 512) float32 array took 6.3 ms of CPU on the 2-core build machine against 1.5 ms for the same
array reused, and an LSTM training step at T=400, B=50, H=128 allocates about 110 MB of such arrays (gates,
states, their gradients, the weight-gradient operand): a tenth of the step. The kernels write every element
of the arrays they get from here (these were np.empty before), so an array no one else references can serve
the next call of the same shape and dtype. Whether anything else still holds one (a caller's forward result,
a view of it, a torch tensor made from it) is read off its reference count: an array in use is never handed
out. Arrays under MIN_BYTES are plain np.empty (malloc serves those from memory it already holds).
"""
import math
import sys
import threading

import numpy as np

MIN_BYTES = 1 << 20
MAX_BYTES = 512 << 20    # the pool's size past which it lets go of its oldest arrays no one holds

_lock = threading.Lock()
_pool = []               # oldest first


def empty(shape, dtype):
    """np.empty(shape, dtype), reusing a pooled array of that shape and dtype when nothing references it."""
    shape, dtype = tuple(shape), np.dtype(dtype)
    if dtype.itemsize * math.prod(shape) < MIN_BYTES:
        return np.empty(shape, dtype)
    with _lock:
        for i in range(len(_pool)):
            a = _pool[i]
            if a.shape == shape and a.dtype == dtype and _free(a):
                _pool.append(_pool.pop(i))       # most recently used last
                return a
        a = np.empty(shape, dtype)
        _pool.append(a)
        _trim()
        return a


def _refs(a):
    return sys.getrefcount(a)


def _unheld():
    # the count _refs reads for an array held only by a list and the variable it was read into, as empty()
    # and _trim() read it (measured, not assumed: it differs between Python versions)
    held = [np.empty(0)]
    a = held[0]
    return _refs(a)


_UNHELD = _unheld()


def _free(a):
    return _refs(a) == _UNHELD + 1      # + _free's own argument


def _trim():
    total = sum(a.nbytes for a in _pool)
    i = 0
    while total > MAX_BYTES and i < len(_pool):
        a = _pool[i]
        if _free(a):
            total -= a.nbytes
            del _pool[i]
        else:
            i += 1
        del a

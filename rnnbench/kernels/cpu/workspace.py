"""The CPU kernels' per-call arrays, starting on a cache line; all but small ones handed out again once
nothing references them.

A fresh np.empty of tens of MB is not free: the OS maps its pages in zeroed, one fault at a time. Filling a
fresh (400, 50, 512) float32 array took 6.3 ms of CPU on the 2-core build machine against 1.5 ms for the same
array reused, and an LSTM training step at T=400, B=50, H=128 allocates about 110 MB of such arrays (gates,
states, their gradients, the weight-gradient operand): a tenth of the step. Arrays of 16 KB - 1 MB fare no
better: malloc hands the top of its heap back to the OS as they are freed and faults it in again for the
next call (lstm forward+backward, arrays from 16 KB / from 1 MB pooled: 100,1,2,128 1.23-1.28 / 1.41-1.47 ms,
100,16,32,128 5.6-6.3 / 7.0-7.5 ms; 200,128,10,128 unchanged). The kernels write every element
of the arrays they get from here (these were np.empty before), so the buffer behind an array no one else
references can serve the next call of the same size. Whether anything else still holds one (a caller's
forward result, a view of it, a torch tensor made from it) is read off the buffer's reference count: an array
in use is never handed out. Arrays under MIN_BYTES are fresh (malloc serves those from its free lists).
"""
import ctypes
import math
import sys
import threading

import numpy as np

MIN_BYTES = 16 << 10
MAX_BYTES = 512 << 20    # the pool's size past which it lets go of its oldest arrays no one holds
# Every array starts on a cache line: a 64-byte vector load from an address 16 or 32 bytes past one reads two
# lines. The packed weights, read a vector at a time by the product, at B = 1 (100,1,2,128) took the lstm
# forward 332 us from an address 16 or 32 bytes past a line against 246 us from one on it (100,64,128,512:
# 69.2 against 66.5 ms), and np.empty starts where malloc does, on 16 bytes.
ALIGN = 64

_lock = threading.Lock()
_pool = []               # the buffers behind the arrays handed out, oldest first


def empty(shape, dtype):
    """np.empty(shape, dtype) starting on a cache line, reusing a pooled buffer of that size when nothing
    references it."""
    shape, dtype = tuple(shape), np.dtype(dtype)
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes < MIN_BYTES:
        return _view(np.empty(nbytes + ALIGN, np.uint8), shape, dtype)
    with _lock:
        for i in range(len(_pool)):
            buf = _pool[i]
            if buf.size == nbytes + ALIGN and _free(buf):
                _pool.append(_pool.pop(i))       # most recently used last
                return _view(buf, shape, dtype)
        buf = np.empty(nbytes + ALIGN, np.uint8)
        _pool.append(buf)
        _trim()
        return _view(buf, shape, dtype)


def _view(buf, shape, dtype):
    # every view of buf, however derived, has buf as its base (NumPy links views to the array owning the
    # memory), so buf's reference count says whether anything still uses the array handed out
    # the address through ctypes.c_char: a third of what buf.ctypes.data costs (0.3 against 0.9 us, at ~16
    # calls in a B = 1 forward+backward)
    return np.ndarray(shape, dtype, buf, -ctypes.addressof(ctypes.c_char.from_buffer(buf)) % ALIGN)


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


def copy(a):
    """A copy of a from empty(): C-contiguous, starting on a cache line."""
    out = empty(a.shape, a.dtype)
    out[...] = a
    return out


def aligned(a):
    """a as a C-contiguous array starting on a cache line: a itself where it is one, else a copy."""
    return a if a.flags.c_contiguous and a.ctypes.data % ALIGN == 0 else copy(a)

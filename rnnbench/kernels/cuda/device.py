"""The CUDA device: availability check, synchronisation, host/device transfers, arrays filled on the device,
and the tile size.

`NUMBA_ENABLE_CUDASIM=1` (set before numba.cuda is first imported) runs every kernel in numba's
simulator, one Python thread per CUDA thread: correct but slow, so the simulator gets small tiles.
"""
import sys
import threading

import numpy as np
from numba import config, cuda

from rnnbench.errors import InputError

SIMULATED = bool(config.ENABLE_CUDASIM)
# Square thread-block edge for every kernel: 16x16 = 256 threads on a GPU; the simulator's cost grows
# with threads per block, and 4 still spreads tiny test shapes over several tiles and partial edges.
TILE = 4 if SIMULATED else 16
TILE_PAD = TILE + 1        # shared tiles get one spare column: no bank conflicts on column reads


def _make_simulated_shared_arrays_atomic():
    """numba-cuda's simulator finds a block's shared array by its source line with an unlocked
    check-then-create, so two threads reaching the line together can each get a private array and the
    block computes garbage. Allocate under a lock instead (same keying, same arrays otherwise); left as
    it is should a numba-cuda release reorganise these internals."""
    try:
        from numba.cuda.simulator.kernelapi import FakeCUDAShared, numpy_support, types
    except ImportError:
        return
    original = FakeCUDAShared.array
    lock = threading.Lock()

    def array(self, shape, dtype, alignment=None):
        if shape == 0 or alignment is not None:          # dynamic shared memory / errors: unchanged
            return original(self, shape, dtype, alignment)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            if key not in self._allocations:
                if isinstance(dtype, types.Type):
                    dtype = numpy_support.as_dtype(dtype)
                self._allocations[key] = np.empty(shape, dtype)
            return self._allocations[key]

    FakeCUDAShared.array = array


if SIMULATED:
    _make_simulated_shared_arrays_atomic()


def check_available():
    """InputError unless a CUDA GPU (or numba's CUDA simulator) is usable."""
    if not cuda.is_available():
        raise InputError("no CUDA device was found (no GPU with a working driver); use backend='cpu', "
                         "or set NUMBA_ENABLE_CUDASIM=1 before starting Python to run the kernels in "
                         "numba's simulator")


def synchronize():
    """Block until all queued kernels have finished (timers must call this before reading the clock)."""
    cuda.synchronize()


def is_device_array(a):
    return cuda.is_cuda_array(a) if not SIMULATED else hasattr(a, "copy_to_host")


def to_device(a, dtype):
    """A device array of `dtype`: uploaded from the host, or `a` itself when already on the device."""
    if a is None or is_device_array(a):
        return a
    return cuda.to_device(np.ascontiguousarray(a, dtype=dtype))


def to_host(a):
    return None if a is None else a.copy_to_host()


@cuda.jit(cache=True)
def fill_kernel(a, value):
    # a: (N,); value: a's dtype
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] = value


def full(shape, value, dtype):
    """A new device array of `shape` and `dtype`, every entry `value`, written on the device (no upload)."""
    a = cuda.device_array(shape, dtype=dtype)
    threads = TILE * TILE
    fill_kernel[max(1, -(-a.size // threads)), threads](a.reshape(a.size), np.dtype(dtype).type(value))
    return a


def stack(arrays):
    """Device arrays of one shape -> one device array with a new leading axis (as np.stack)."""
    out = cuda.device_array((len(arrays),) + tuple(arrays[0].shape), dtype=arrays[0].dtype)
    for k, a in enumerate(arrays):
        out[k].copy_to_device(a)
    return out


def grid(rows, cols):
    """Blocks covering a (rows, cols) output with one thread per element; x runs along cols."""
    return ((cols + TILE - 1) // TILE, (rows + TILE - 1) // TILE), (TILE, TILE)

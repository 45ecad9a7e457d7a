"""Checks of the Python API's arguments, shared by RNN and Model: each bad one raises InputError, one
sentence.

Arrays (numpy, anything np.asarray takes, torch tensors) are cast to the model's dtype first and checked
finite after the cast, so a value that overflows float32 is refused like an Inf.
"""
from collections.abc import Mapping

import numpy as np
from numba import njit

from rnnbench.errors import InputError
from rnnbench.tensors import is_tensor, to_numpy

DTYPES = ("float32", "float64")
# float dtype -> (the unsigned integer of its width, its exponent bits)
_EXPONENT = {np.dtype(np.float32): (np.uint32, np.uint32(0x7F800000)),
             np.dtype(np.float64): (np.uint64, np.uint64(0x7FF0000000000000))}


def positive_int(name, value):
    """value as an int >= 1 (Python or numpy integer, not bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_seed(seed):
    """A seed for numpy's Generator: a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_dtype(dtype):
    """"float32"/"float64", np.float32/np.float64 or their np.dtype -> the np.dtype."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise InputError(f"unsupported dtype {dtype!r}; expected float32 or float64")
    return dt


def as_numpy(name, value):
    """An array-like or torch tensor as a numpy array (no copy where none is needed)."""
    if is_tensor(value):
        try:
            return to_numpy(value)
        except TypeError:               # bfloat16 and other dtypes numpy has no type for
            raise InputError(f"{name} is a {value.dtype} tensor, which numpy cannot hold; "
                             f"convert it with .float() first") from None
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} is not a rectangular array of numbers") from None


def check_mapping(state_dict):
    """InputError unless state_dict is a mapping (of parameter names to arrays)."""
    if not isinstance(state_dict, Mapping):
        raise InputError(f"state_dict must be a mapping of parameter names to arrays, "
                         f"got {type(state_dict).__name__}")


def check_keys(state_dict, shapes, what):
    """InputError unless state_dict is a mapping with exactly the keys of `shapes`."""
    check_mapping(state_dict)
    missing = sorted(map(str, set(shapes) - set(state_dict)))
    extra = sorted(map(str, set(state_dict) - set(shapes)))
    if missing or extra:
        raise InputError(f"state_dict does not match {what}: missing keys {missing}, unexpected keys {extra}")


def check_param(state_dict, key, shape, dtype):
    """state_dict[key] as a new C-contiguous array of dtype, checked: real, of `shape`, finite after the
    cast."""
    name = f"state_dict[{key!r}]"
    value = as_numpy(name, state_dict[key])
    check_real(name, value)
    if value.shape != tuple(shape):
        raise InputError(f"{name} has shape {value.shape}, expected {tuple(shape)}")
    return cast_finite(name, value, dtype, copy=True)


def check_real(name, a):
    """InputError unless a's dtype is a real (integer or floating-point) number type."""
    if a.dtype.kind == "c":
        raise InputError(f"{name} must be real, got dtype {a.dtype}")
    if a.dtype.kind not in "iuf":
        raise InputError(f"{name} must be numeric, got dtype {a.dtype}")


@njit(cache=True, nogil=True)
def _largest_exponent(bits, mask):
    # bits: (n,) the unsigned-integer view of a float array -> the largest bits & mask, which is mask itself
    # exactly where some element is inf or NaN (every exponent bit set)
    m = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        v = bits[i] & mask
        if v > m:
            m = v
    return m


def all_finite(a):
    """Whether a (a C-contiguous float array) holds no inf or NaN: one pass over its exponent bits, without
    the boolean temporary of np.isfinite (which took 2.5 ms of a 170 ms forward+backward for a 33 MB
    dL/d(output))."""
    if a.dtype not in _EXPONENT or not a.flags.c_contiguous:
        return bool(np.isfinite(a).all())
    uint, mask = _EXPONENT[a.dtype]
    return bool(_largest_exponent(a.reshape(-1).view(uint), mask) != mask)


def cast_finite(name, a, dtype, copy=False):
    """a (real) as a C-contiguous array of dtype, refused when it holds NaN/Inf or values beyond dtype's
    range."""
    out = a
    if copy or a.dtype != dtype or not a.flags.c_contiguous:     # (np.errstate alone costs ~2 us)
        with np.errstate(over="ignore"):              # overflow of the cast is reported below, not warned
            out = np.array(a, dtype=dtype, order="C", copy=True) if copy else np.ascontiguousarray(a, dtype)
    if not all_finite(out):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise InputError(f"{name} contains NaN or Inf")
        raise InputError(f"{name} has values beyond the range of {dtype} (largest {np.finfo(dtype).max:.4g})")
    return out

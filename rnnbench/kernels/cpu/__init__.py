"""Numba CPU backend (placeholder: delegates to the NumPy reference until the @njit kernels land)."""
from rnnbench.cells.reference import backward_layer, forward_layer  # noqa: F401

"""Compiled backends: `cpu` (Numba @njit) and `cuda` (numba.cuda), each implementing rnnbench.backend's
interface."""

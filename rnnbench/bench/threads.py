"""One thread count for every pool a benchmark touches: Numba's, the BLAS libraries' and OpenMP's, PyTorch's.

threadpoolctl limits the BLAS/OpenMP libraries loaded at the time it is entered, so SciPy's BLAS (the one
np.dot inside @njit calls) is loaded first. PyTorch's intra-op pool is set when torch is already imported.
"""
import sys
from contextlib import contextmanager

from rnnbench.checks import positive_int
from rnnbench.errors import InputError


def check_threads(n):
    """InputError unless 1 <= n <= the most threads Numba was started with."""
    import numba
    positive_int("threads", n)
    if n > numba.config.NUMBA_NUM_THREADS:
        raise InputError(f"threads={n} exceeds Numba's maximum of {numba.config.NUMBA_NUM_THREADS} "
                         "(set NUMBA_NUM_THREADS to allow more)")


@contextmanager
def thread_limit(n):
    """Run the block with n threads in Numba, BLAS, OpenMP and (if imported) PyTorch; restore them after."""
    import numba
    import scipy.linalg.cython_blas  # noqa: F401  (load SciPy's BLAS so the limit reaches it)
    from threadpoolctl import threadpool_limits
    check_threads(n)
    torch = sys.modules.get("torch")
    old_numba = numba.get_num_threads()
    old_torch = torch.get_num_threads() if torch is not None else None
    numba.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        numba.set_num_threads(old_numba)
        if torch is not None:
            torch.set_num_threads(old_torch)

"""numba.cuda backend: one kernel launch per layer runs the whole time loop of each cell (CELLS), forward or
backward through time (steps.py, indrnn.py), with whole-sequence tiled GEMMs; implements rnnbench.backend's
interface. training.py (with optim.py, losses.py, sums.py) trains a Model with everything on the GPU.

`get_backend("cuda")` calls check_available(), which raises InputError when no GPU is found (set
NUMBA_ENABLE_CUDASIM=1 before Python starts to run the kernels in numba's simulator instead).
Timers call synchronize() before stopping the clock: kernel launches return before the work is done.

DEVICE_ARRAYS tells rnnbench.network that layers take `device_arrays=True` (results stay on the GPU, inputs
may be device arrays) and that stack/to_host gather them: a stack's layers then hand data to each other
without host round trips.
"""
from rnnbench.kernels.cuda.device import check_available, stack, synchronize, to_host  # noqa: F401
from rnnbench.kernels.cuda.layer import KERNELS, backward_layer, forward_layer  # noqa: F401

CELLS = tuple(KERNELS)      # the cells this backend implements: layer.py's kernel modules

DEVICE_ARRAYS = True

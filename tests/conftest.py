"""Test-session setup shared by all test modules."""
import os
import sys

# numba reads NUMBA_ENABLE_CUDASIM when numba.cuda is first imported: without a GPU (no NVIDIA driver
# device node) the cuda backend's tests run in numba's simulator; with one they run on the GPU.
if "NUMBA_ENABLE_CUDASIM" not in os.environ and not os.path.exists("/dev/nvidiactl"):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    # the simulator's block manager busy-polls its thread-per-CUDA-thread while holding the GIL:
    # frequent switches make it several times faster
    sys.setswitchinterval(1e-4)

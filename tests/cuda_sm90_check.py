"""Compiles every cuda-backend kernel for sm_90 (H100/H200) without a GPU, and checks the machine code.

    python tests/cuda_sm90_check.py      # without NUMBA_ENABLE_CUDASIM; prints each kernel's registers,
                                         # then "ok"

Needs NVIDIA's NVVM and nvJitLink (the `cuda` extra: numba-cuda[cu13]). NVVM turns each kernel into PTX: type
errors the simulator cannot see, and float32 kernels must not fall back to float64 arithmetic (except the ones
that sum in float64 on purpose, as the host code does). nvJitLink's ptxas then compiles the PTX for sm_90 and
reports resources: no local memory (no spills, no stack frame: accumulators stay in registers), and few enough
registers per thread that the kernel's largest block can launch (65536 registers per block).
tests/test_cuda_backend.py runs this in a fresh process where NVVM is installed.
"""
import re
import types

import numba.cuda.dispatcher as dispatcher

# device functions normally ask the (absent) GPU for its compute capability
dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))

from cuda.core import Linker, LinkerOptions, ObjectCode  # noqa: E402
from numba import cuda, types as nt  # noqa: E402

from rnnbench.kernels.cuda import (device, gemm, gru, indrnn, losses, lstm, norms, optim, rnn, steps,  # noqa: E402
                                   sums)

REGISTERS_PER_BLOCK = 65536
FLOAT64_BY_DESIGN = {"sums.sum", "losses.mse"}      # float64 sums; mse's targets are float64
                                                    # (rnnbench/losses.py)


def kernels(f):
    """name -> (kernel, signature, the most threads per block it is launched with) for float dtype f."""
    a1, a2, a3, i1, b, i = f[::1], f[:, ::1], f[:, :, ::1], nt.int64[::1], nt.boolean, nt.int64
    d1 = nt.float64[::1]
    table = {
        "device.fill": (device.fill_kernel, (a1, f), device.TILE ** 2),
        "gemm.gemm": (gemm.gemm_kernel, (a2, a2, a3, a1, b, b), gemm.TILE ** 2),
        "gemm.sum_splits": (gemm.sum_splits_kernel, (a3, a1, a2), gemm.TILE ** 2),
        "gemm.transpose": (gemm.transpose_kernel, (a2, a2), gemm.TILE ** 2),
        "norms.step_norms": (norms.step_norms_kernel, (a2, a1), norms.THREADS),
        "sums.sum": (sums.sum_kernel, (a1, b, nt.float64, d1, i), sums.THREADS),
        "losses.mse": (losses.mse_kernel, (a1, d1, nt.float64, a1, d1), losses.THREADS),
        "losses.cross_entropy": (losses.cross_entropy_kernel, (a2, i1, f, a2, a1), losses.THREADS),
        "optim.sgd": (optim.sgd_kernel, (a1, a1, a1) + (f,) * 4 + (b, b), optim.THREADS),
        "optim.rmsprop": (optim.rmsprop_kernel, (a1, a1, a1) + (f,) * 6, optim.THREADS),
        "optim.adam": (optim.adam_kernel, (a1,) * 4 + (f,) * 9, optim.THREADS),
    }
    for mod in (rnn, gru, lstm):
        name = mod.__name__.rsplit(".", 1)[1]
        table[name + ".forward"] = (mod.forward_kernel, (a3, a2, a1, a2, i1, b, i, b, a3, a3, a3, a3),
                                    steps.MAX_THREADS)
        table[name + ".backward"] = (mod.backward_kernel,
                                     (a2, a2, i1, b, i) + (a3,) * 4 + (a2, a2) + (a3,) * 5,
                                     steps.MAX_THREADS)
    # indrnn: its vector w_hh (H,) where the others take a matrix; one thread per (row, unit)
    table["indrnn.forward"] = (indrnn.forward_kernel, (a3, a1, a1, a2, i1, b, i, b, a3, a3, a3, a3),
                               steps.MIN_THREADS)
    table["indrnn.backward"] = (indrnn.backward_kernel, (a1, a2, i1, b, i) + (a3,) * 4 + (a2, a2) + (a3,) * 5,
                                steps.MIN_THREADS)
    return table


def resources(ptx):
    """(stack frame, spill stores, spill loads, registers) of a one-kernel PTX compiled for sm_90."""
    linker = Linker(ObjectCode.from_ptx(ptx.encode()), options=LinkerOptions(arch="sm_90", verbose=True))
    linker.link("cubin")
    log = linker.get_info_log()
    frame = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", log)
    return tuple(map(int, frame.groups())) + (int(re.search(r"Used (\d+) registers", log).group(1)),)


def main():
    for f in (nt.float32, nt.float64):
        for name, (kernel, sig, threads) in kernels(f).items():
            ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
            if f == nt.float32 and name not in FLOAT64_BY_DESIGN:
                assert ".f64" not in ptx, f"{name} does float64 arithmetic in its float32 version"
            stack, stores, loads, registers = resources(ptx)
            assert stack == stores == loads == 0, (f"{name} ({f}) uses local memory: {stack} bytes stack "
                                                   f"frame, {stores} bytes spill stores, {loads} bytes spill "
                                                   f"loads")
            assert registers * threads <= REGISTERS_PER_BLOCK, \
                f"{name} ({f}): {registers} registers x {threads}"
            print(f"{name} ({f}): {registers} registers, {threads} threads")
    print("ok")


if __name__ == "__main__":
    main()

"""The cuda backend against independent oracles beyond the shared suite (tests/oracles.py runs PyTorch's
modules against every backend): the NumPy reference backend (all cells, both dtypes, lengths, initial
states, 2 layers, several blocks, row groups and items per thread), NumPy's matmul for the GEMM; plus the
no-GPU error and, where NVIDIA's compiler is installed, a compile of every kernel for sm_90
(tests/cuda_sm90_check.py; the simulator never compiles them). Training on the GPU:
tests/test_cuda_training.py.

Without a GPU these run in numba's CUDA simulator (tests/conftest.py), so shapes stay tiny.
"""
import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import implements
from oracles import CELLS

from rnnbench.cells import CELLS as SPECS
from rnnbench.network import RNN

# every registered cell the cuda backend implements, with each of its nonlinearities
CASES = [(cell, act) for cell, act in CELLS
         if importlib.util.find_spec("numba.cuda") and implements("cuda", cell)]
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def _cuda_or_skip():
    from rnnbench.backend import get_backend
    from rnnbench.errors import InputError
    try:
        get_backend("cuda")
    except InputError as e:
        pytest.skip(str(e))


def _close(actual, desired, name, tol):
    # atol scales with the array's magnitude: long float32 sequences can grow large gradients
    atol = tol["atol"] * max(1.0, float(np.abs(desired).max(initial=0)))
    np.testing.assert_allclose(actual, desired, rtol=tol["rtol"], atol=atol, err_msg=name)


def _run(m, x, h0, c0, lengths, d_out, d_hn, d_cn):
    f = m.forward(x, h0=h0, c0=c0, lengths=lengths)
    return f, m.backward(f, d_out, d_h_n=d_hn, d_c_n=d_cn)


def _compare(cell, act, dtype, T, B, I, H, L, lengths, seed):
    _cuda_or_skip()
    rng = np.random.default_rng(seed)
    has_c = SPECS[cell].has_cell_state
    x, h0, d_out, d_hn = (rng.standard_normal(s) for s in ((T, B, I), (L, B, H), (T, B, H), (L, B, H)))
    c0, d_cn = (rng.standard_normal((L, B, H)) for _ in range(2)) if has_c else (None, None)
    ref = RNN(cell, I, H, L, nonlinearity=act, backend="reference", dtype=dtype, seed=seed)
    cu = RNN(cell, I, H, L, nonlinearity=act, backend="cuda", dtype=dtype, seed=seed)
    (f1, g1), (f2, g2) = (_run(m, x, h0, c0, lengths, d_out, d_hn, d_cn) for m in (ref, cu))
    tol = TOL[dtype]
    for name in ("output", "h_n", "c_n"):
        a, b = getattr(f1, name), getattr(f2, name)
        if a is None:
            assert b is None
            continue
        assert b.dtype == np.dtype(dtype)
        _close(b, a, name, tol)
    for key in g1.params:
        assert g2.params[key].shape == g1.params[key].shape
        _close(g2.params[key], g1.params[key], key, tol)
    for name in ("dx", "dh0", "dc0", "grad_norms", "cell_grad_norms"):
        a, b = getattr(g1, name), getattr(g2, name)
        if a is None:
            assert b is None
            continue
        _close(b, a, name, tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell,act", CASES)
def test_matches_reference_with_lengths_and_states(cell, act, dtype):
    _compare(cell, act, dtype, T=3, B=2, I=3, H=3, L=2, lengths=np.array([3, 2]), seed=1)


@pytest.mark.parametrize("cell,H", [("peephole", 5), ("gru", 2), ("rnn", 3), ("indrnn", 3)])
def test_matches_reference_across_blocks_groups_and_items(cell, H):
    # the simulator's layout (rnnbench/kernels/cuda/steps.py: 2 rows per item, 4 threads per block, products
    # loaded 2 steps at a time): B = 5 leaves a last row group half empty; H = 5 gives threads two items,
    # H = 2 two row groups per block (the second block's second one past B), odd H and G*H a partial last
    # load; and H and B above the 4x4 tile of the GEMMs and the transpose. indrnn (one thread per (row, unit),
    # steps.elementwise_layout): 15 pairs over 4 blocks of 4 threads, the last block part empty
    _compare(cell, "tanh", "float64", T=3, B=5, I=2, H=H, L=1, lengths=np.array([3, 1, 2, 3, 1]), seed=2)


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="realistic shapes need a real GPU")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell,act", CASES)
def test_matches_reference_at_realistic_shapes_on_a_gpu(cell, act, dtype):
    # several 16x16 tiles in every direction, long enough for float32 rounding to build up (at these
    # shapes the float32 reference stays within 2% of TOL of the float64 one)
    lengths = np.random.default_rng(6).integers(1, 51, 64)
    _compare(cell, act, dtype, T=50, B=64, I=40, H=96, L=2, lengths=lengths, seed=6)


@pytest.mark.parametrize("trans_a,trans_b,shape", [(False, True, (9, 11, 6)), (False, False, (3, 5, 30)),
                                                   (True, False, (9, 11, 6)), (True, True, (3, 5, 30))])
def test_gemm_matches_numpy(trans_a, trans_b, shape):
    # (M, N, K) = (9, 11, 6) straddles the simulator's 8x8 block tile and 4-deep K tile; (3, 5, 30) is one
    # block of c with a long K, which the GEMM splits into ranges (4 partial products, summed by a second
    # kernel)
    _cuda_or_skip()
    from numba import cuda
    from rnnbench.kernels.cuda.gemm import matmul
    rng = np.random.default_rng(5)
    M, N, K = shape
    a = rng.standard_normal((K, M) if trans_a else (M, K))
    b = rng.standard_normal((N, K) if trans_b else (K, N))
    bias = rng.standard_normal(N)
    want = (a.T if trans_a else a) @ (b.T if trans_b else b) + bias
    got = matmul(cuda.to_device(a), cuda.to_device(b), cuda.device_array((M, N)), trans_a, trans_b,
                 cuda.to_device(bias))
    np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-12, atol=1e-12)


def test_device_arrays_stay_on_device_and_match_host_results():
    _cuda_or_skip()
    from rnnbench.kernels.cuda.device import is_device_array
    rng = np.random.default_rng(4)
    m = RNN("lstm", 2, 3, num_layers=2, backend="cuda", dtype="float32")
    x, d_out = rng.standard_normal((2, 2, 2)), rng.standard_normal((2, 2, 3))
    host_f = m.forward(x, lengths=[2, 1])
    host_g = m.backward(host_f, d_out)
    dev_f = m.forward(x, lengths=[2, 1], device_arrays=True)
    dev_g = m.backward(dev_f, d_out, device_arrays=True)
    pairs = [(host_f.output, dev_f.output), (host_f.h_n, dev_f.h_n), (host_f.c_n, dev_f.c_n),
             (host_g.dx, dev_g.dx), (host_g.dh0, dev_g.dh0), (host_g.cell_grad_norms, dev_g.cell_grad_norms)]
    pairs += [(v, dev_g.params[key]) for key, v in host_g.params.items()]
    for host, dev in pairs:
        assert isinstance(host, np.ndarray) and is_device_array(dev)
        np.testing.assert_array_equal(dev.copy_to_host(), host)


def test_device_arrays_need_a_gpu_backend():
    from rnnbench.errors import InputError
    with pytest.raises(InputError, match="needs a GPU backend"):
        RNN("gru", 2, 3, backend="reference").forward(np.zeros((2, 1, 2)), device_arrays=True)


def _without_simulator():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    return env


def _has_gpu():
    return os.path.exists("/dev/nvidiactl")


@pytest.mark.skipif(_has_gpu(), reason="a GPU is present, so there is no no-device error to see")
def test_no_device_raises_input_error():
    # a fresh process: numba's CUDA state is decided once, at its first import
    code = textwrap.dedent("""
        from rnnbench.errors import InputError
        from rnnbench.network import RNN
        try:
            RNN("lstm", 2, 3, backend="cuda")
        except InputError as e:
            print(e)
    """)
    res = subprocess.run([sys.executable, "-c", code], env=_without_simulator(), capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("no CUDA device was found")


def test_kernels_compile_for_a_real_gpu():
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib
        load_nvidia_dynamic_lib("nvvm")
        load_nvidia_dynamic_lib("nvrtc")
    except Exception as e:  # noqa: BLE001 - any failure to find the compiler means: cannot check here
        pytest.skip(f"NVIDIA's NVVM compiler is not installed: {type(e).__name__}")
    # a fresh process without the simulator: tests/cuda_sm90_check.py says what it checks
    script = os.path.join(os.path.dirname(__file__), "cuda_sm90_check.py")
    res = subprocess.run([sys.executable, script], env=_without_simulator(), capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-3000:]

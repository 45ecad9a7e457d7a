"""The CPU kernels' reused arrays (kernels.cpu.workspace): an array anyone still references, directly or
through a view, is never handed out again, so results a caller holds never change under a later call."""
import numpy as np
import pytest

import rnnbench
from rnnbench.kernels.cpu import workspace

SHAPE = (300, 1000)      # 1.2 MB of float32: pooled


def test_an_array_no_one_holds_is_handed_out_again_and_a_held_one_never():
    a = workspace.empty(SHAPE, np.float32)
    address = a.ctypes.data
    b = workspace.empty(SHAPE, np.float32)
    assert b.ctypes.data != address                      # a is held
    view = a[7]
    del a
    assert workspace.empty(SHAPE, np.float32).ctypes.data != address    # held through its view
    del view
    assert workspace.empty(SHAPE, np.float32).ctypes.data == address
    assert workspace.empty(SHAPE, np.float64).ctypes.data != address    # another size
    del b


@pytest.mark.parametrize("shape", [(3, 5), SHAPE])
def test_arrays_start_on_a_cache_line(shape):
    arrays = [workspace.empty(shape, dtype) for dtype in (np.float32, np.float64, np.int64)]
    assert all(a.ctypes.data % 64 == 0 and a.flags.c_contiguous and a.flags.writeable for a in arrays)


def test_the_pool_lets_go_of_free_arrays_past_its_size(monkeypatch):
    monkeypatch.setattr(workspace, "MAX_BYTES", 3 * 1_200_000)
    held = [workspace.empty((300 + k, 1000), np.float32) for k in range(3)]
    for k in range(5):
        workspace.empty((400 + k, 1000), np.float32)        # freed at once
    # past its size with the held arrays alone: of the rest only the newest (held while it was added) stays
    assert len(workspace._pool) == len(held) + 1
    assert all(any(a.base is p for p in workspace._pool) for a in held)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "peephole", "indrnn"])
def test_results_a_caller_holds_survive_later_calls(cell):
    T, B, I, H = 40, 30, 8, 96         # (T, B, 4H) float32 arrays of 1.8 MB: pooled
    m = rnnbench.RNN(cell, I, H, num_layers=2, backend="cpu", seed=1)
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal((T, B, I)).astype(np.float32) for _ in range(2))
    d1, d2 = (rng.standard_normal((T, B, H)).astype(np.float32) for _ in range(2))
    f1 = m.forward(x1)
    g1 = m.backward(f1, d1)
    out1, dx1 = f1.output.copy(), g1.dx.copy()
    step = f1.output[T // 2]             # only a view of the first output is kept
    step1 = step.copy()
    del g1
    for _ in range(3):
        f2 = m.forward(x2)
        m.backward(f2, d2)
    np.testing.assert_array_equal(f1.output, out1)
    g1 = m.backward(f1, d1)              # f1's saved gates and states are still its own
    np.testing.assert_array_equal(g1.dx, dx1)
    del f1, g1
    m.forward(x2)
    np.testing.assert_array_equal(step, step1)

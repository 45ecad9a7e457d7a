"""The CPU kernels' packed-weight product (kernels.cpu.gemm) against NumPy in float64: every tile path
(MR-row tiles, leftover rows one panel or WIDE panels at a time, narrow and broad panels, k in blocks past
KC), panels walked first to last and last to first, row offsets, padded columns, and sections with their own
k ranges."""
import numpy as np
import pytest
from numba import njit

from rnnbench.kernels.cpu.gemm import BROAD_VECTORS, MR, matmul_rows, pack, padded, panel_width, width


@njit(cache=False)
def product(a, lo, hi, w, c, reverse=False):
    matmul_rows(a, lo, hi, w, c, reverse)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,K,N,lo,hi", [(9, 7, 33, 0, 9), (12, 130, 512, 3, 12), (1, 1, 1, 0, 1),
                                        (6, 20, 17, 5, 6), (40, 65, 8, 1, 39), (19, 40, 100, 2, 19),
                                        (18, 600, 70, 1, 18)])
def test_matches_numpy(dtype, M, K, N, lo, hi, reverse):
    rng = np.random.default_rng(M * K + N)
    a, w = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
    packed = pack(w, rows=hi - lo)
    nr = packed[0].shape[2]
    assert nr in (panel_width(dtype), panel_width(dtype, BROAD_VECTORS)) and width(packed) == -(-N // nr) * nr
    c = np.full((hi - lo + 1, width(packed)), np.nan, dtype)
    product(a, lo, hi, packed, c, reverse)
    want = a[lo:hi].astype(np.float64) @ w.astype(np.float64)
    tol = 1e-13 if dtype == "float64" else 1e-5
    assert np.max(np.abs(c[:hi - lo, :N] - want)) <= tol * max(1.0, np.max(np.abs(want))) * np.sqrt(K)
    assert np.all(c[:hi - lo, N:] == 0)             # zero-padded panels
    assert np.all(np.isnan(c[hi - lo]))              # nothing written past hi - lo rows


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_broad_panels_where_they_pad_little(dtype):
    # an unsectioned pack for products of at least MR rows takes BROAD_VECTORS panels where they pad at most
    # a few columns more (4H = 512: 528 against 512), narrow ones where they would pad many (128: 144), for
    # fewer rows or rows unknown, and always for sections
    lanes = panel_width(dtype, 1)
    narrow, broad = panel_width(dtype), panel_width(dtype, BROAD_VECTORS)
    w = np.ones((3, 64 * lanes), dtype)
    assert pack(w, rows=MR)[0].shape[2] == broad
    assert pack(w, rows=MR - 1)[0].shape[2] == pack(w)[0].shape[2] == narrow
    assert pack(w, [(64 * lanes, 0, 3)], rows=MR)[0].shape[2] == narrow
    few = pack(np.ones((3, 16 * lanes), dtype), rows=MR)
    assert few[0].shape[2] == (narrow if BROAD_VECTORS == 3 else broad)


def test_sections_restrict_k_and_start_on_panels():
    rng = np.random.default_rng(0)
    K1, K2, n1, n2, n3 = 3, 5, 7, 4, 18
    K = K1 + K2
    a = rng.standard_normal((6, K))
    w = rng.standard_normal((K, n1 + n2 + n3))
    packed = pack(w, [(n1, 0, K), (n2, 0, K1), (n3, K1, K)])
    c = np.empty((6, width(packed)))
    product(a, 0, 6, packed, c)
    o2 = padded(n1, w.dtype)
    o3 = o2 + padded(n2, w.dtype)
    np.testing.assert_allclose(c[:, :n1], a @ w[:, :n1], rtol=1e-13)
    np.testing.assert_allclose(c[:, o2:o2 + n2], a[:, :K1] @ w[:K1, n1:n1 + n2], rtol=1e-13)
    np.testing.assert_allclose(c[:, o3:o3 + n3], a[:, K1:] @ w[K1:, n1 + n2:], rtol=1e-13)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rows", [1, 3, 11])
def test_leftover_rows_span_panels_only_within_a_section(dtype, rows, reverse):
    # a 3-panel section then a 6-panel one on other k rows: a group of WIDE panels for the leftover rows may
    # start only where its panels share their k rows
    rng = np.random.default_rng(rows)
    nr = panel_width(dtype)
    K1, K2, n1, n2 = 6, 9, 3 * nr - 1, 6 * nr
    a = rng.standard_normal((rows, K1 + K2)).astype(dtype)
    w = rng.standard_normal((K1 + K2, n1 + n2)).astype(dtype)
    packed = pack(w, [(n1, 0, K1), (n2, K1, K1 + K2)])
    c = np.full((rows, width(packed)), np.nan, dtype)
    product(a, 0, rows, packed, c, reverse)
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    tol = 1e-13 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(c[:, :n1], a64[:, :K1] @ w64[:K1, :n1], rtol=tol, atol=tol)
    np.testing.assert_allclose(c[:, 3 * nr:], a64[:, K1:] @ w64[K1:, n1:], rtol=tol, atol=tol)


@pytest.mark.parametrize("rows", [1, MR])
def test_blocks_pack_as_the_matrix_they_describe(rows):
    # a nested list of blocks (transposed views among them) packs as np.block of it would, sections and all
    rng = np.random.default_rng(rows)
    A, B = rng.standard_normal((40, 3)), rng.standard_normal((40, 5))      # PyTorch-layout (out, in)
    C, D = rng.standard_normal((3, 9)), rng.standard_normal((5, 9))
    stacked = [[A.T, A.T[:, 30:]], [B.T, B.T[:, 30:]]]
    sections = [(30, 0, 8), (10, 0, 3), (10, 3, 8)]
    for blocks, sec in [(stacked, sections), ([[C], [D]], None), ([[C.T, D.T]], [(3, 0, 9), (5, 0, 9)])]:
        got, want = pack(blocks, sec, rows=rows), pack(np.block(blocks), sec, rows=rows)
        if sec:   # k rows outside a section are never read: only its own rows must agree
            for p, (k0, k1) in enumerate(want[1]):
                np.testing.assert_array_equal(got[0][p, k0:k1], want[0][p, k0:k1])
        else:
            np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    for sec in ([(35, 0, 8), (15, 0, 8)], None):       # a section's columns must lie in one column of blocks
        with pytest.raises(ValueError, match="span two blocks"):
            pack(stacked, sec)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transposed_views_pack_as_their_copies(dtype):
    # transposed views (W^T of PyTorch-layout weights) pack through vector tiles transposed in registers, with
    # k rows past whole tiles, a partial last panel, column offsets into the block and sections
    rng = np.random.default_rng(7)
    nr, lanes = panel_width(dtype), panel_width(dtype, 1)
    A = rng.standard_normal((5 * nr + 3, 2 * lanes + 5)).astype(dtype)       # (out, in): A.T is (K, N)
    B = rng.standard_normal((5 * nr + 3, 3 * lanes)).astype(dtype)
    stacked = [[A.T, A.T[:, nr:]], [B.T, B.T[:, nr:]]]
    for blocks, sec in [([[A.T]], None), ([[A.T], [B.T]], None), ([[A.T[1:, 3:]]], None),
                        (stacked, [(nr + 7, 0, A.shape[1]), (2 * nr, 4, 40)])]:
        got = pack(blocks, sec)
        want = pack([[np.ascontiguousarray(b) for b in row] for row in blocks], sec)
        for p, (k0, k1) in enumerate(want[1]):
            np.testing.assert_array_equal(got[0][p, k0:k1], want[0][p, k0:k1])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("rows", [1, MR, MR + 3])
def test_a_section_over_no_k_rows_is_zero(rows, reverse):
    # k0 == k1: nothing to sum, whichever tile runs it (and however a long k range would be blocked)
    a = np.ones((rows, 4))
    packed = pack(np.ones((4, 40)), [(20, 0, 4), (20, 2, 2)])
    c = np.full((rows, width(packed)), np.nan)
    product(a, 0, rows, packed, c, reverse)
    o2 = padded(20, np.float64)
    assert np.all(c[:, :20] == 4) and np.all(c[:, o2:o2 + 20] == 0)

"""Tiled shared-memory GEMM: c = [c +] op(a) @ op(b) [+ bias], for whole-sequence products.

Used for the input projection (x @ W_ih^T + b_ih over all T*B rows at once), dx = dxp @ W_ih, the weight
gradients dxp^T @ x and dhp^T @ h_prev, and bias gradients as ones^T @ dxp. Each thread block stages
TILE x TILE tiles of op(a) and op(b) in shared memory, loading along each array's contiguous axis
(coalesced), and each thread accumulates one element of c in c's dtype.
"""
import numpy as np
from numba import cuda

from rnnbench.kernels.cuda.device import TILE, TILE_PAD, grid


@cuda.jit
def gemm_kernel(a, b, c, bias, trans_a, trans_b, accumulate):
    # c: (M, N); op(a): (M, K) from a (M, K), or a (K, M) when trans_a; op(b): (K, N) from b (K, N),
    # or b (N, K) when trans_b; bias: (N,) added to every row, or (0,) for none; accumulate: c += ...
    As = cuda.shared.array((TILE, TILE_PAD), dtype=c.dtype)    # As[m, k]
    Bs = cuda.shared.array((TILE, TILE_PAD), dtype=c.dtype)    # Bs[k, n]
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    m0 = cuda.blockIdx.y * TILE
    n0 = cuda.blockIdx.x * TILE
    m = m0 + ty
    n = n0 + tx
    M, N = c.shape
    K = a.shape[0] if trans_a else a.shape[1]
    zero = c.dtype.type(0)
    acc = zero
    for k0 in range(0, K, TILE):
        if trans_a:                                   # a[k, m]: consecutive threads read consecutive m
            kk = k0 + ty
            mm = m0 + tx
            As[tx, ty] = a[kk, mm] if kk < K and mm < M else zero
        else:
            kk = k0 + tx
            As[ty, tx] = a[m, kk] if m < M and kk < K else zero
        if trans_b:                                   # b[n, k]: consecutive threads read consecutive k
            kk = k0 + tx
            nn = n0 + ty
            Bs[tx, ty] = b[nn, kk] if nn < N and kk < K else zero
        else:
            kk = k0 + ty
            Bs[ty, tx] = b[kk, n] if kk < K and n < N else zero
        cuda.syncthreads()
        for i in range(TILE):
            acc += As[ty, i] * Bs[i, tx]
        cuda.syncthreads()
    if m < M and n < N:
        if accumulate:
            acc += c[m, n]
        if bias.shape[0] > 0:
            acc += bias[n]
        c[m, n] = acc


def matmul(a, b, c, trans_a=False, trans_b=False, accumulate=False, bias=None):
    """Device arrays: c (M, N) = [c +] op(a) @ op(b) [+ bias (N,)]; returns c."""
    if bias is None:
        bias = cuda.device_array(0, dtype=c.dtype)
    blocks, threads = grid(*c.shape)
    gemm_kernel[blocks, threads](a, b, c, bias, trans_a, trans_b, accumulate)
    return c


def column_sums(a):
    """Device (R, N) -> device (1, N) sums over rows, as ones (1, R) @ a (fixed summation order)."""
    ones = cuda.to_device(np.ones((1, a.shape[0]), dtype=a.dtype))
    return matmul(ones, a, cuda.device_array((1, a.shape[1]), dtype=a.dtype))

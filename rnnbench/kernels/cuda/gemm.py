"""Tiled shared-memory GEMM: c = [c +] op(a) @ op(b) [+ bias], for whole-sequence products; and a tiled
transpose (the forward's time loop reads W_hh^T, whose rows run along the hidden units its threads own).

Used for the input projection (x @ W_ih^T + b_ih over all T*B rows at once), dx = dxp @ W_ih, the weight
gradients dxp^T @ x and dhp^T @ h_prev, and bias gradients as ones^T @ dxp. A TILE x TILE thread block
computes a BM x BM block of c (BM = TILE * R): per K step it stages a BM x TILE slice of op(a) and a
TILE x BM slice of op(b) in shared memory, loading along each array's contiguous axis (coalesced), and
each thread accumulates an R x R register tile in c's dtype (rows ty + i*TILE, columns tx + j*TILE).
Row blocks run along the grid's x axis, whose limit (2**31 - 1) leaves room for any T*B.
"""
from numba import cuda

from rnnbench.kernels.cuda.device import SIMULATED, TILE, TILE_PAD, full, grid

R = 2 if SIMULATED else 4          # register tile edge: 4x4 outputs per thread on a GPU
BM = TILE * R                      # c block edge
BM_PAD = BM + 1                    # spare column: no shared-memory bank conflicts


@cuda.jit(cache=True)
def gemm_kernel(a, b, c, bias, trans_a, trans_b, accumulate):
    # c: (M, N); op(a): (M, K) from a (M, K), or a (K, M) when trans_a; op(b): (K, N) from b (K, N),
    # or b (N, K) when trans_b; bias: (N,) added to every row, or (0,) for none; accumulate: c += ...
    As = cuda.shared.array((TILE, BM_PAD), dtype=c.dtype)      # As[k, m]
    Bs = cuda.shared.array((TILE, BM_PAD), dtype=c.dtype)      # Bs[k, n]
    acc = cuda.local.array((R, R), dtype=c.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * TILE + tx
    m0 = cuda.blockIdx.x * BM
    n0 = cuda.blockIdx.y * BM
    M, N = c.shape
    K = a.shape[0] if trans_a else a.shape[1]
    zero = c.dtype.type(0)
    for i in range(R):
        for j in range(R):
            acc[i, j] = zero
    for k0 in range(0, K, TILE):
        for e in range(tid, BM * TILE, TILE * TILE):
            if trans_a:                               # a[k, m]: consecutive threads, consecutive m
                mm = e % BM
                kk = e // BM
                As[kk, mm] = a[k0 + kk, m0 + mm] if k0 + kk < K and m0 + mm < M else zero
            else:                                     # a[m, k]: consecutive threads, consecutive k
                kk = e % TILE
                mm = e // TILE
                As[kk, mm] = a[m0 + mm, k0 + kk] if m0 + mm < M and k0 + kk < K else zero
            if trans_b:                               # b[n, k]
                kk = e % TILE
                nn = e // TILE
                Bs[kk, nn] = b[n0 + nn, k0 + kk] if n0 + nn < N and k0 + kk < K else zero
            else:                                     # b[k, n]
                nn = e % BM
                kk = e // BM
                Bs[kk, nn] = b[k0 + kk, n0 + nn] if k0 + kk < K and n0 + nn < N else zero
        cuda.syncthreads()
        for kk in range(TILE):
            for i in range(R):
                av = As[kk, ty + i * TILE]
                for j in range(R):
                    acc[i, j] += av * Bs[kk, tx + j * TILE]
        cuda.syncthreads()
    for i in range(R):
        m = m0 + ty + i * TILE
        for j in range(R):
            n = n0 + tx + j * TILE
            if m < M and n < N:
                v = acc[i, j]
                if accumulate:
                    v += c[m, n]
                if bias.shape[0] > 0:
                    v += bias[n]
                c[m, n] = v


def matmul(a, b, c, trans_a=False, trans_b=False, accumulate=False, bias=None):
    """Device arrays: c (M, N) = [c +] op(a) @ op(b) [+ bias (N,)]; returns c."""
    if bias is None:
        bias = cuda.device_array(0, dtype=c.dtype)
    M, N = c.shape
    blocks = ((M + BM - 1) // BM, (N + BM - 1) // BM)
    gemm_kernel[blocks, (TILE, TILE)](a, b, c, bias, trans_a, trans_b, accumulate)
    return c


def column_sums(a):
    """Device (R, N) -> device (1, N) sums over rows, as ones (1, R) @ a (fixed summation order)."""
    return matmul(full((1, a.shape[0]), 1, a.dtype), a, cuda.device_array((1, a.shape[1]), dtype=a.dtype))


@cuda.jit(cache=True)
def transpose_kernel(a, out):
    # a: (M, N); out: (N, M). A TILE x TILE block stages a tile through shared memory: reads along a's rows and
    # writes along out's rows both coalesce
    tile = cuda.shared.array((TILE, TILE_PAD), dtype=a.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    M, N = a.shape
    m = cuda.blockIdx.y * TILE + ty
    n = cuda.blockIdx.x * TILE + tx
    if m < M and n < N:
        tile[ty, tx] = a[m, n]
    cuda.syncthreads()
    m = cuda.blockIdx.y * TILE + tx
    n = cuda.blockIdx.x * TILE + ty
    if m < M and n < N:
        out[n, m] = tile[tx, ty]


def transpose(a):
    """Device (M, N) -> a new device (N, M)."""
    M, N = a.shape
    out = cuda.device_array((N, M), dtype=a.dtype)
    transpose_kernel[grid(M, N)](a, out)
    return out

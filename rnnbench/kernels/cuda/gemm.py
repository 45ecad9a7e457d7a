"""Tiled shared-memory GEMM: c = op(a) @ op(b) [+ bias], for whole-sequence products; and a tiled transpose
(the forward's time loop reads W_hh^T, whose rows run along the hidden units its threads own).

Used for the input projection (x @ W_ih^T + b_ih over all T*B rows at once), dx = dxp @ W_ih, the weight
gradients dxp^T @ x and dhp^T @ h_prev, and bias gradients as ones^T @ dxp. A TILE x TILE thread block
computes a BM x BM block of c (BM = TILE * R): per K step it stages a BM x TILE slice of op(a) and a
TILE x BM slice of op(b) in shared memory, loading along each array's contiguous axis (coalesced), and
each thread accumulates an R x R register tile in c's dtype (rows ty + i*TILE, columns tx + j*TILE).
Row blocks run along the grid's x axis, whose limit (2**31 - 1) leaves room for any T*B.

The gradients' products are small (G*H x H) with a long K = T*B (64,000 at T = 1000, B = 64): their few
blocks of c would each walk all of K while most SMs idle. So where c has fewer blocks than SPLIT_BLOCKS, K is
split into equal ranges run by the grid's z axis, each writing its partial product, and a second kernel
sums the partials in a fixed order (no atomics: the same result every run).
"""
import functools

from numba import cuda

from rnnbench.kernels.cuda.device import SIMULATED, TILE, TILE_PAD, full, grid

R = 2 if SIMULATED else 4          # register tile edge: 4x4 outputs per thread on a GPU
BM = TILE * R                      # c block edge
BM_PAD = BM + 1                    # spare column: no shared-memory bank conflicts
MIN_SPLIT_K = TILE if SIMULATED else 256     # K per split at least: 16 tile steps on a GPU


@functools.cache
def split_blocks():
    """Blocks a product should have before its K is left whole: two per SM (4 in the simulator)."""
    return 4 if SIMULATED else 2 * cuda.get_current_device().MULTIPROCESSOR_COUNT


@cuda.jit(cache=True)
def gemm_kernel(a, b, c, bias, trans_a, trans_b):
    # c: (S, M, N), S splits of K: c[s] = the product over the s-th K range, + bias when S = 1;
    # op(a): (M, K) from a (M, K), or a (K, M) when trans_a; op(b): (K, N) from b (K, N), or b (N, K) when
    # trans_b; bias: (N,) added to every row, or (0,) for none
    As = cuda.shared.array((TILE, BM_PAD), dtype=c.dtype)      # As[k, m]
    Bs = cuda.shared.array((TILE, BM_PAD), dtype=c.dtype)      # Bs[k, n]
    acc = cuda.local.array((R, R), dtype=c.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * TILE + tx
    m0 = cuda.blockIdx.x * BM
    n0 = cuda.blockIdx.y * BM
    split = cuda.blockIdx.z
    S, M, N = c.shape
    K = a.shape[0] if trans_a else a.shape[1]
    chunk = ((K + S - 1) // S + TILE - 1) // TILE * TILE
    k_begin = split * chunk
    K = min(K, k_begin + chunk)                 # this split's K range: k_begin..K-1
    zero = c.dtype.type(0)
    for i in range(R):
        for j in range(R):
            acc[i, j] = zero
    for k0 in range(k_begin, K, TILE):
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
    with_bias = S == 1 and bias.shape[0] > 0
    for i in range(R):
        m = m0 + ty + i * TILE
        for j in range(R):
            n = n0 + tx + j * TILE
            if m < M and n < N:
                c[split, m, n] = acc[i, j] + bias[n] if with_bias else acc[i, j]


@cuda.jit(cache=True)
def sum_splits_kernel(parts, bias, c):
    # parts: (S, M, N) partial products; bias: (N,) or (0,); c: (M, N) = their sum in order s = 0..S-1
    # [+ bias]
    n = cuda.blockIdx.x * TILE + cuda.threadIdx.x
    m = cuda.blockIdx.y * TILE + cuda.threadIdx.y
    if m < c.shape[0] and n < c.shape[1]:
        v = parts[0, m, n]
        for s in range(1, parts.shape[0]):
            v += parts[s, m, n]
        if bias.shape[0] > 0:
            v += bias[n]
        c[m, n] = v


def matmul(a, b, c, trans_a=False, trans_b=False, bias=None):
    """Device arrays: c (M, N) = op(a) @ op(b) [+ bias (N,)]; returns c."""
    if bias is None:
        bias = cuda.device_array(0, dtype=c.dtype)
    M, N = c.shape
    K = a.shape[0] if trans_a else a.shape[1]
    blocks = ((M + BM - 1) // BM, (N + BM - 1) // BM)
    splits = max(1, min(-(-split_blocks() // (blocks[0] * blocks[1])), K // MIN_SPLIT_K))
    if splits == 1:
        gemm_kernel[blocks, (TILE, TILE)](a, b, c.reshape(1, M, N), bias, trans_a, trans_b)
        return c
    parts = cuda.device_array((splits, M, N), dtype=c.dtype)
    gemm_kernel[blocks + (splits,), (TILE, TILE)](a, b, parts, bias, trans_a, trans_b)
    sum_splits_kernel[grid(M, N)](parts, bias, c)
    return c


def column_sums(a):
    """Device (R, N) -> device (1, N) sums over rows, as ones (1, R) @ a (fixed summation order)."""
    return matmul(full((1, a.shape[0]), 1, a.dtype), a, cuda.device_array((1, a.shape[1]), dtype=a.dtype))


@cuda.jit(cache=True)
def transpose_kernel(a, out):
    # a: (M, N); out: (N, M). A TILE x TILE block stages a tile through shared memory: reads along a's rows
    # and writes along out's rows both coalesce
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

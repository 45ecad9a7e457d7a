"""The per-step recurrent product of the CPU kernels: a register-blocked GEMM on a pre-packed weight matrix.

At these shapes (a block of 1-64 batch rows times W_hh, K = 32-2048) a BLAS call re-packs the whole weight
matrix at every time step and reaches 50-70 % of a core; the weights do not change during a sequence, so
they are packed once per call (`pack`) into column panels of NR = two (or, AVX-512, three) SIMD vectors,
and each step runs an MR x NR micro-kernel (`matmul_rows`) whose accumulators stay in registers. The
micro-kernel is emitted as LLVM vector IR at the host's vector width (kernels.cpu.isa: `<16 x float>` on
AVX-512, `<8 x float>` on AVX2, `<4 x float>` portable), so it reaches ~90-95 % of a core's FMA peak without
depending on what the autovectorizer makes of a scalar loop.

Summation order per output element is fixed (k ascending, the same in every tile), so results are bitwise
reproducible and independent of how rows are split over threads.
"""
from bisect import bisect_right
from itertools import accumulate

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from rnnbench.kernels.cpu.isa import HAS_FMA, ISA, VECTOR_BYTES, VECTOR_REGISTERS
from rnnbench.kernels.cpu.workspace import ALIGN, empty

# (MR, PANEL_VECTORS, BROAD_VECTORS) per ISA: rows per tile and vectors per panel (NR = vectors * lanes), the
# panels of a sectioned pack and of a broad one. MR x vectors accumulators + vectors loads + 1 broadcast must
# fit the register file (16 vectors on AVX2/SSE, 32 on AVX-512). Measured, one core, float32 GFLOP/s at the
# kernels' per-thread shapes (32x130x512 / 32x640x2048 forward, 32x512x130 backward):
# AVX-512 Xeon: 4x2 141/104/95, 8x2 157/130/118, 8x3 165/147/156 alone but 20 % more padded columns in a
# backward's [dh | dx] sections (NR 48 against H = 128 + I), which made the real LSTM backward 13 % slower
# than 8x2; 4x4 and 6x4 lost rows of reuse. AVX2 EPYC: 4x2 (6-, 8- and 12-row tiles were slower).
# So 8x3 runs where it pads few columns: an unsectioned pack whose N rounds up to whole broad panels at most
# BROAD_PADDING over its narrow width (4H = 512: 528 columns; 2048: 2064), for threads of at least MR rows.
# The lstm forward, 2 threads, narrow then broad panels alternating in one process: 100,64,128,512 80.2 ->
# 77.4 ms, 200,128,10,128 19.8 -> 18.7, 1000,64,2,128 46.2 -> 44.6; the training step (one thread, B = 50)
# unchanged.
# The leftover rows of a block run two- and one-row tiles with the same k-sequential sums, so a row's numbers
# do not depend on how rows are blocked over threads: results agree bitwise across thread counts. (Interleaved
# k-phases for that tile, once used to hide FMA latency, changed its rounding and bought nothing measurable
# at B = 1, where streaming the weights from L2 bounds a step.)
TILES = {"avx512": (8, 2, 3), "avx2": (4, 2, 2), "portable": (4, 2, 2)}
MR, PANEL_VECTORS, BROAD_VECTORS = TILES[ISA]
BROAD_PADDING = 1.035


def panel_width(dtype, vectors=PANEL_VECTORS):
    """NR, the column width of one packed panel (a sectioned pack's, by default), for `dtype`."""
    return vectors * VECTOR_BYTES // np.dtype(dtype).itemsize


def padded(n, dtype):
    """n rounded up to a whole number of panels: the width of a matmul_rows output buffer."""
    nr = panel_width(dtype)
    return -(-n // nr) * nr


def pack(w, sections=None, rows=0):
    """Pack w: (K, N) for matmul_rows -> (panels (P, K, NR), kr (P, 2)).

    w: a 2-D array (any strides: a transposed view packs without a copy), or a nested list of them laid out
    as np.block takes it ([[W_ih^T], [W_hh^T]], [[W_hh, W_ih]]), packed as the matrix it describes without
    ever building that (at H = 512 the concatenation cost 0.46 ms of a 1.3 ms pack).
    sections: None (one section: all columns, all of K) or a list of (n, k0, k1): the next n columns of w,
    of which only rows k0:k1 are nonzero; a section's columns lie in one column of blocks. Each section
    starts on a fresh panel (its output columns start at `padded` of the columns before it) and its panels
    run k over k0:k1 only, so a block that is zero by construction costs nothing. N is zero-padded to whole
    panels: broad ones (BROAD_VECTORS) without sections where those pad little and the product runs full
    tiles, else PANEL_VECTORS wide. A caller reads the width off the result (`width`); only a sectioned
    pack's offsets follow `padded`.
    rows: the fewest rows one matmul_rows call will multiply (a thread's batch block), or 0 if unknown.
    Broad panels need at least MR: one-row tiles stream their padding too, and a last group of fewer than
    WIDE panels runs one panel at a time (at B = 1 the lstm forward took 0.39-0.43 ms against 0.29-0.38).
    """
    grid = w if isinstance(w, list) else [[w]]
    k_at = list(accumulate((row[0].shape[0] for row in grid), initial=0))     # where each row of blocks
    n_at = list(accumulate((block.shape[1] for block in grid[0]), initial=0))  # and column starts
    K, N, dtype = k_at[-1], n_at[-1], grid[0][0].dtype
    nr = panel_width(dtype)
    broad = panel_width(dtype, BROAD_VECTORS)
    if sections is None and rows >= MR and -(-N // broad) * broad <= BROAD_PADDING * padded(N, dtype):
        nr = broad
    sections = sections or [(N, 0, K)]
    P = sum(-(-n // nr) for n, _, _ in sections)
    panels = empty((P, K, nr), dtype)      # pooled when large: every element is written below
    ranges = np.empty((P, 2), np.int64)
    p = col = 0
    for n, k0, k1 in sections:
        full, rest = divmod(n, nr)
        count = full + (rest > 0)
        j = bisect_right(n_at, col) - 1
        if col + n > n_at[j + 1]:
            raise ValueError(f"pack: columns {col}:{col + n} span two blocks")
        for i, row in enumerate(grid):
            r0, r1 = max(k0, k_at[i]), min(k1, k_at[i + 1])
            if r0 < r1:
                src = row[j][r0 - k_at[i]:r1 - k_at[i], col - n_at[j]:col - n_at[j] + n]
                if src.strides[0] == src.itemsize and src.strides[1] > 0:     # a transposed view: W^T
                    _transposed_panels(panels, p, r0, src.T[:full * nr])
                else:   # whole panels in one strided copy (a per-panel Python loop cost ~0.1 ms at H=128)
                    whole = src[:, :full * nr].reshape(r1 - r0, full, nr)
                    panels[p:p + full, r0:r1] = whole.transpose(1, 0, 2)
                if rest:
                    panels[p + full, r0:r1, :rest] = src[:, full * nr:]
        if rest:
            panels[p + full, :, rest:] = 0
        if k0 > 0 or k1 < K:
            panels[p:p + count, :k0] = 0
            panels[p:p + count, k1:] = 0
        ranges[p:p + count] = k0, k1
        p += count
        col += n
    return panels, ranges


@intrinsic
def transpose_tile(typingctx, dst, d0, ds, src, s0, ss):
    """dst[d0 + i * ds + j] = src[s0 + j * ss + i] for i, j < L, the lanes of one vector (elements counted
    from each array's first): an L x L tile transposed in registers (log2 L rounds of L two-vector
    shuffles, each swapping the off-diagonal blocks of a pair of rows) instead of L * L scalar moves."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array) and dst.dtype == src.dtype
            and dst.dtype in (types.float32, types.float64)):
        return None

    def codegen(context, builder, signature, args):
        prefer_full_width(builder.function)
        ty = signature.args
        D = context.make_array(ty[0])(context, builder, args[0])
        S = context.make_array(ty[3])(context, builder, args[3])
        intp = context.get_value_type(types.intp)
        d0, ds, s0, ss = (context.cast(builder, args[i], ty[i], types.intp) for i in (1, 2, 4, 5))
        itemsize = np.dtype(str(ty[0].dtype)).itemsize
        lanes = VECTOR_BYTES // itemsize
        vty = ir.VectorType(context.get_value_type(ty[0].dtype), lanes).as_pointer()
        at = lambda base, start, stride, i: builder.bitcast(  # noqa: E731
            builder.gep(base, [builder.add(start, builder.mul(stride, ir.Constant(intp, i)))]), vty)
        rows = [builder.load(at(S.data, s0, ss, i), align=itemsize) for i in range(lanes)]
        k = lanes // 2
        while k:
            mask = lambda f: ir.Constant(ir.VectorType(ir.IntType(32), lanes), [f(m) for m in range(lanes)])  # noqa
            low = mask(lambda m: m if m // k % 2 == 0 else lanes + m - k)
            high = mask(lambda m: m + k if m // k % 2 == 0 else lanes + m)
            for i in range(lanes):
                if i // k % 2 == 0:
                    a, b = rows[i], rows[i + k]
                    rows[i] = builder.shuffle_vector(a, b, low)
                    rows[i + k] = builder.shuffle_vector(a, b, high)
            k //= 2
        for i, row in enumerate(rows):
            builder.store(row, at(D.data, d0, ds, i), align=itemsize)
        return context.get_dummy_value()
    return types.void(dst, d0, ds, src, s0, ss), codegen


@intrinsic
def multiply_add(typingctx, a, b, c):
    """a * b + c rounded as the micro-kernel's tiles round it: fused where the target has FMA (llvm.fma),
    else fmuladd's choice (so a chain of these over k sums exactly as a tile's accumulator does)."""
    if not (a == b == c and a in (types.float32, types.float64)):
        return None

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.args[0])
        bits = 8 * np.dtype(str(signature.args[0])).itemsize
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty] * 3),
                                            f"llvm.{'fma' if HAS_FMA else 'fmuladd'}.f{bits}")
        return builder.call(fn, list(args))
    return a(a, b, c), codegen


@njit(inline="always")
def transpose(dst, src):
    """dst[j, i] = src[i, j]: dst (n, m) and src (m, n), 2-D with unit-strided rows (views of larger arrays
    welcome); whole L x L tiles transposed in registers (transpose_tile), the ragged edges element by
    element."""
    m, n = src.shape
    L = VECTOR_BYTES // src.itemsize
    ds, ss = dst.strides[0] // dst.itemsize, src.strides[0] // src.itemsize
    for i0 in range(0, m - L + 1, L):
        for j0 in range(0, n - L + 1, L):
            transpose_tile(dst, j0 * ds + i0, ds, src, i0 * ss + j0, ss)
    for i in range(m):
        for j in range(n - n % L if i < m - m % L else 0, n):
            dst[j, i] = src[i, j]


@njit(cache=True, nogil=True)
def _transposed_panels(panels, p, r0, w):
    # panels: (P, K, NR) C; w: (n, R), rows unit-strided -> panels[p + q, r0 + k, c] = w[q * NR + c, k] for
    # the n // NR whole panels: w is the PyTorch-layout weight whose transpose pack was given. Vector-sized
    # tiles transposed in registers, against NumPy's element-by-element strided copy: the lstm forward's pack
    # of [W_ih^T; W_hh^T] 16 against 28 us at H = 128, I = 2; 0.44 against 0.66 ms at H = 512, I = 128.
    nr = panels.shape[2]
    R = w.shape[1]
    for q in range(w.shape[0] // nr):
        transpose(panels[p + q, r0:r0 + R], w[q * nr:(q + 1) * nr])


def prefer_full_width(function):
    """Let LLVM's vectorizer use the whole vector register in `function` (an llvmlite ir.Function).

    On AVX-512 hosts LLVM tunes for 256-bit vectors by default (`prefer-256-bit`, against the clock drop
    of early AVX-512 parts) and so vectorizes the kernels' elementwise loops at half width, though the
    micro-kernel's zmm FMAs already run in the same function. A string attribute has no place in llvmlite's
    checked attribute set, so it is added to the set's underlying storage; it prints as
    `"prefer-vector-width"="512"` in the function's definition."""
    set.add(function.attributes, f'"prefer-vector-width"="{8 * VECTOR_BYTES}"')
    set.add(function.attributes, '"reciprocal-estimates"="vec-divf:1,divf:1"')


def prefetch_line(builder, address, write):
    """Emit a prefetch of the cache line at `address` (an i8*) into L2 (locality 2: prefetcht1; the product
    streaming through L1 meanwhile would evict it from there); write: the line is about to be overwritten
    and arrives owned."""
    i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                         "llvm.prefetch.p0i8")
    builder.call(fn, [address, ir.Constant(i32, int(write)), ir.Constant(i32, 2), ir.Constant(i32, 1)])


def _tile_intrinsic(rows, spans=1, panel_vectors=PANEL_VECTORS, prefetch=0):
    """An intrinsic tile(a, ar, panels, p, k0, k1, c, cr, add): for the `spans` panels q = p .. p+spans-1 (all
    on rows k0:k1), c[cr:cr+rows, q*NR:(q+1)*NR] (+)= a[ar:ar+rows, k0:k1] @ panels[q, k0:k1], adding to c
    where `add` (the sums then go on from c's float values, so splitting k changes no bit).
    prefetch: with each row k, ask for row k of panel p+prefetch in L2 (which must exist); 0: none."""
    vectors = panel_vectors * spans

    @intrinsic
    def tile(typingctx, a, ar, panels, p, k0, k1, c, cr, add):
        # a: (M, K) C; panels: (P, K, NR) C; c: (M', >= P * NR) C; all one float dtype
        if not (a.dtype == panels.dtype == c.dtype and a.dtype in (types.float32, types.float64)):
            return None
        sig = types.void(a, ar, panels, p, k0, k1, c, cr, add)

        def codegen(context, builder, signature, args):
            prefer_full_width(builder.function)
            a_v, ar_v, panels_v, p_v, k0_v, k1_v, c_v, cr_v, add_v = args
            ty = signature.args
            A = context.make_array(ty[0])(context, builder, a_v)
            W = context.make_array(ty[2])(context, builder, panels_v)
            C = context.make_array(ty[6])(context, builder, c_v)
            itemsize = np.dtype(str(ty[0].dtype)).itemsize
            lanes = VECTOR_BYTES // itemsize
            nr = lanes * panel_vectors     # one panel's width
            vty = ir.VectorType(context.get_value_type(ty[0].dtype), lanes)
            # llvm.fma is always fused (a slow libm call where the target lacks FMA); fmuladd fuses where it
            # can
            fma_name = f"llvm.{'fma' if HAS_FMA else 'fmuladd'}.v{lanes}f{8 * itemsize}"
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), fma_name)
            intp = context.get_value_type(types.intp)
            const = lambda v: ir.Constant(intp, v)  # noqa: E731
            ar_v = context.cast(builder, ar_v, ty[1], types.intp)
            p_v = context.cast(builder, p_v, ty[3], types.intp)
            k0_v = context.cast(builder, k0_v, ty[4], types.intp)
            k1_v = context.cast(builder, k1_v, ty[5], types.intp)
            cr_v = context.cast(builder, cr_v, ty[7], types.intp)
            add_v = context.cast(builder, add_v, ty[8], types.boolean)
            K = cgutils.unpack_tuple(builder, A.shape, 2)[1]
            ldc = cgutils.unpack_tuple(builder, C.shape, 2)[1]
            zero = ir.Constant(vty, [0.0] * lanes)
            splat = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
            # allocas in the entry block: LLVM's mem2reg turns them into registers
            outs = [builder.gep(C.data, [builder.add(builder.mul(builder.add(cr_v, const(r)), ldc),
                                                     builder.mul(p_v, const(nr)))]) for r in range(rows)]
            c_ptrs = [builder.bitcast(builder.gep(outs[r], [const(lanes * v)]), vty.as_pointer())
                      for r in range(rows) for v in range(vectors)]
            accs = [cgutils.alloca_once_value(builder, builder.select(add_v, builder.load(ptr, align=1),
                                                                      zero)) for ptr in c_ptrs]
            a_rows = [builder.gep(A.data, [builder.mul(builder.add(ar_v, const(r)), K)]) for r in range(rows)]
            # panel q's row k starts at (q * K + k) * NR
            panel = builder.gep(W.data, [builder.mul(builder.mul(p_v, K), const(nr))])
            stride = builder.mul(K, const(nr))

            with cgutils.for_range(builder, k1_v, start=k0_v) as loop:
                k = loop.index
                row = builder.gep(panel, [builder.mul(k, const(nr))])
                if prefetch:
                    ahead = builder.bitcast(builder.gep(row, [builder.mul(stride, const(prefetch))]),
                                            ir.IntType(8).as_pointer())
                    for line in range(0, nr * itemsize, 64):
                        prefetch_line(builder, builder.gep(ahead, [const(line)]), write=False)
                ws = [builder.load(builder.bitcast(
                    builder.gep(row, [builder.add(builder.mul(stride, const(v // panel_vectors)),
                                                  const(lanes * (v % panel_vectors)))]),
                    vty.as_pointer()), align=1) for v in range(vectors)]
                for r in range(rows):
                    s = builder.load(builder.gep(a_rows[r], [k]))
                    s = builder.insert_element(zero, s, ir.Constant(ir.IntType(32), 0))
                    s = builder.shuffle_vector(s, zero, splat)
                    for v in range(vectors):
                        acc = accs[r * vectors + v]
                        builder.store(builder.call(fma, [s, ws[v], builder.load(acc)]), acc)
            for acc, ptr in zip(accs, c_ptrs):
                builder.store(builder.load(acc), ptr, align=1)
            return context.get_dummy_value()

        return sig, codegen

    return tile


# The full tiles run a long k range in equal blocks of at most KC rows, each block over all row tiles, so the
# panel's block stays in L1 from one tile to the next (the backward's K = 4H panels: 512 x 32 floats at
# H = 128 are 64 KB, 2048 x 32 at H = 512 256 KB). Alternating in one process, unblocked / KC = 128 / 256:
# lstm backward 100,64,128,512 80.1 / 78.4 / 77.9 ms, 1000,64,2,128 64.8 / 62.3 / 62.2, the training
# step's (one thread) 39.9 / 38.4 / 38.4; the forwards (K = I + H) within noise either way.
KC = 256

# A block's leftover rows (fewer than MR) run one row at a time. One panel per call would leave that row
# two or three independent FMA chains, too few to cover the FMA's latency (a B = 1 step ran at a quarter of
# the core's FMA rate); WIDE panels per call give it WIDE times as many, with the same k-sequential sums.
WIDE = 4


@njit(inline="always")
def _same_k(kr, p, n):
    # whether panels p .. p+n-1 exist and all run k over the same rows
    if p + n > kr.shape[0]:
        return False
    for q in range(p + 1, p + n):
        if kr[q, 0] != kr[p, 0] or kr[q, 1] != kr[p, 1]:
            return False
    return True


def _matmul(panel_vectors):
    """matmul_rows' body for panels of `panel_vectors` vectors."""
    # Where the register file holds two rows' worth of a wide tile (AVX-512, 2-vector panels: 16
    # accumulators, 8 panel vectors), leftover rows go two at a time: each pass over the panels then serves
    # two rows (a training step's B = 50 left 2 rows after six 8-row tiles, and streaming W_hh from L2 once
    # per row cost its backward step 4 us).
    pair = 2 if 3 * WIDE * panel_vectors + 1 <= VECTOR_REGISTERS else 1
    tile_mr = _tile_intrinsic(MR, 1, panel_vectors)
    tile_mr_ahead = _tile_intrinsic(MR, 1, panel_vectors, prefetch=1)
    tile_mr_behind = _tile_intrinsic(MR, 1, panel_vectors, prefetch=-1)
    tile_1 = _tile_intrinsic(1, 1, panel_vectors)
    tile_1_wide = _tile_intrinsic(1, WIDE, panel_vectors)
    tile_pair = _tile_intrinsic(pair, 1, panel_vectors)
    tile_pair_wide = _tile_intrinsic(pair, WIDE, panel_vectors)

    @njit(inline="always")
    def matmul(a, lo, hi, panels, kr, c, reverse):
        P = panels.shape[0]
        rest = lo + (hi - lo) // MR * MR      # rows from here on are leftovers
        single = rest + (hi - rest) // pair * pair    # leftover rows from here on go one at a time
        step = -1 if reverse else 1
        done = P if reverse else -1           # the leftover rows are done for panels from here on (reverse)
        for i in range(P):                    # or up to here
            p = P - 1 - i if reverse else i
            k0, k1 = kr[p, 0], kr[p, 1]
            # k0:k1 in equal blocks of at most KC rows; an empty range is one empty block, which writes zeros
            blocks = max(1, -(-(k1 - k0) // KC))
            kc = -(-(k1 - k0) // blocks)
            for blk in range(blocks):
                kb = k0 + blk * kc
                ke = min(k1, kb + kc)
                first = lo
                if 0 <= p + step < P and lo < rest:
                    if reverse:
                        tile_mr_behind(a, lo, panels, p, kb, ke, c, 0, blk > 0)
                    else:
                        tile_mr_ahead(a, lo, panels, p, kb, ke, c, 0, blk > 0)
                    first += MR
                for r in range(first, rest, MR):
                    tile_mr(a, r, panels, p, kb, ke, c, r - lo, blk > 0)
            if rest < hi and (p < done if reverse else p > done):
                q = p - WIDE + 1 if reverse else p    # first panel of a wide group ending/starting at p
                if q >= 0 and _same_k(kr, q, WIDE):
                    for r in range(rest, single, pair):
                        tile_pair_wide(a, r, panels, q, k0, k1, c, r - lo, False)
                    for r in range(single, hi):
                        tile_1_wide(a, r, panels, q, k0, k1, c, r - lo, False)
                    done = q if reverse else q + WIDE - 1
                else:
                    for r in range(rest, single, pair):
                        tile_pair(a, r, panels, p, k0, k1, c, r - lo, False)
                    for r in range(single, hi):
                        tile_1(a, r, panels, p, k0, k1, c, r - lo, False)
                    done = p
    return matmul


_matmul_narrow = _matmul(PANEL_VECTORS)
_matmul_broad = _matmul(BROAD_VECTORS) if BROAD_VECTORS != PANEL_VECTORS else _matmul_narrow


@njit(inline="always")
def matmul_rows(a, lo, hi, w, c, reverse=False):
    """c[:hi-lo, :P*NR] = a[lo:hi] @ W, with w = pack(W, ...) = (panels, kr).

    a: (M, K); panels: (P, K, NR); kr: (P, 2); c: (>= hi-lo, >= P*NR). Panels outermost: one panel (K x NR)
    stays in L1/L2 while every row block passes over it; the leftover rows (two at a time where registers
    allow, then one) take WIDE panels at once where those share their k rows. Narrow and broad panels
    (pack) each have their own tiles.
    A panel's first row tile asks for the next panel in L2 as it goes: the hardware prefetchers restart on
    every 4 KB page, and where the weights outgrow L2 (the lstm at H = 512: 5.2 MB) each step streams them
    from L3. The lstm kernels, 2 threads, without/with, alternating in one process: 100,64,128,512 forward
    69.6/66.1 ms, backward 83.9/82.7; 100,64,128,384 47.8/45.4, 55.8/53.7; 50,16,128,512 12.3/11.0,
    13.7/12.6; at H = 128 (weights in L2) 0-3 % faster, the one-thread training step unchanged.
    reverse: walk the panels last to first. The kernels turn at every step (turned(t)), so a step starts
    on the panels the step before ended with, still in L2: where the packed weights outgrow L2 that spares up
    to 2 MB of each step's stream from L3. Same sums, bitwise the same results. lstm, 2 threads, one way /
    turning, alternating in one process: forward 100,64,128,512 60.9/60.1 ms, 100,64,128,384 36.9/35.9,
    100,1,128,512 18.2/13.4; backward 76.9/76.1, 48.1/47.4, 14.8/10.4; at H = 128 (weights in L2)
    unchanged."""
    panels, kr = w
    if panels.shape[2] * panels.itemsize == BROAD_VECTORS * VECTOR_BYTES:
        _matmul_broad(a, lo, hi, panels, kr, c, reverse)
    else:
        _matmul_narrow(a, lo, hi, panels, kr, c, reverse)


@njit(inline="always")
def turned(t):
    """matmul_rows' `reverse` for time step t: the kernels walk the panels first to last at even steps and
    last to first at odd ones (see matmul_rows)."""
    return t % 2 == 1


@njit(inline="always")
def width(w):
    """The output width of matmul_rows with w = pack(...): P * NR."""
    return w[0].shape[0] * w[0].shape[2]


@njit(inline="always")
def product_buffer(rows, w, like):
    """An uninitialized (rows, width(w)) array of like's dtype for matmul_rows' output, starting on a cache
    line as workspace.empty's arrays do (Numba's np.empty starts on 32 bytes; the tiles store, and with k in
    blocks load, whole vectors, and the elementwise passes read them)."""
    n = rows * width(w)
    lanes = ALIGN // like.itemsize
    buf = np.empty(n + lanes, like.dtype)
    start = (-buf.ctypes.data % ALIGN) // like.itemsize
    return buf[start:start + n].reshape((rows, width(w)))


@njit(inline="always")
def step_buffers(x, h0, w, lo, hi):
    """The forward kernels' per-thread buffers for rows lo:hi: z = [x_t | h_{t-1}] (rows, I + H), loaded
    with h0, and pre (rows, width(w)) for the step's product."""
    I = x.shape[2]
    z = np.empty((hi - lo, I + h0.shape[1]), x.dtype)
    z[:, I:] = h0[lo:hi]
    return z, product_buffer(hi - lo, w, x)


@njit(inline="always")
def copy_row(dst, src):
    """dst[:len(src)] = src, as an element loop: a slice assignment per row and step cost more than its
    copying (the lstm forward at B = 1: 0.260 ms against 0.238 with loops; at 1000,64,2,128 51.3 against
    49.4)."""
    for j in range(src.shape[0]):
        dst[j] = src[j]


@njit(inline="always")
def project(x, t, lo, hi, z, w, pre):
    """pre = [x_t | h_{t-1}] @ W for rows lo:hi, with h_{t-1} already in z[:, I:]."""
    for b in range(lo, hi):
        copy_row(z[b - lo], x[t, b])
    matmul_rows(z, 0, hi - lo, w, pre, turned(t))

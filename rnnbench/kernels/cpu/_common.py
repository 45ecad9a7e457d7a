"""Shared pieces of the Numba CPU kernels: activations, row norms, threading over batch blocks, the GEMMs.

Speed rests on three things here:
- float32 `tanh`/`sigmoid` are a rational approximation (Eigen's, |error| < 4e-7) made of plain
  arithmetic, so LLVM vectorizes the fused elementwise loops (libm tanhf/expf calls would not); float64
  keeps np.tanh/np.exp.
- Batch rows are independent through time, so `run_blocks` gives each thread a fixed block of rows for
  the whole sequence: no synchronization per step. Cross-row sums (norms, peephole grads) are kept per
  row and reduced afterwards in a fixed order, so results are bitwise identical run after run.
- The per-step products run in kernels.cpu.gemm's packed-weight micro-kernel, not BLAS. The whole-sequence
  weight-gradient GEMMs use NumPy's BLAS held to one thread per block (see weight_grads).
- Gradient norms are rescaled where a plain sum of squares would underflow (row_norm, norms), so float64
  curves stay exact down to ~1e-308.
"""
import platform
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from threadpoolctl import ThreadpoolController

from rnnbench.kernels.cpu import workspace
from rnnbench.kernels.cpu.cache import drop_stale
from rnnbench.kernels.cpu.gemm import copy_row, multiply_add, pack, padded, prefetch_line, transpose
from rnnbench.kernels.cpu.isa import VECTOR_BYTES

# no nnan/ninf: keep NaN/Inf behaviour while allowing contraction to FMA, reassociation and vectorizing
FASTMATH = {"contract", "reassoc", "nsz", "arcp", "afn"}
# error_model="numpy": no zero-division branch in every loop body, which would block vectorization
KERNEL = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")

_CLAMP = np.float32(7.90531110763549805)
_A = [np.float32(v) for v in (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
                              5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
                              -2.76076847742355e-16)]
_B = [np.float32(v) for v in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
                              1.19825839466702e-06)]
A0, A1, A2, A3, A4, A5, A6 = _A
B0, B1, B2, B3 = _B
HALF32 = np.float32(0.5)
ONE32 = np.float32(1.0)


def tanh(x):
    """tanh inside kernels: vectorizable rational approximation for float32, exact for float64."""
    return np.tanh(x)


def sigmoid(x):
    """Logistic sigmoid inside kernels: 0.5 + 0.5 tanh(x / 2) for float32, 1 / (1 + exp(-x)) for float64."""
    return 1 / (1 + np.exp(-x))


@intrinsic
def finite_div(typingctx, p, q):
    """p / q for float32 operands known to be finite (or NaN), flagged so: a division marked no-infs and
    allow-reciprocal becomes a reciprocal estimate plus one Newton step (vrcp14ps + 2 FMAs, ~2 ulp) where the
    function asks for it (gemm.prefer_full_width), instead of a divide unit that takes 5-16 cycles per
    vector. Only valid where neither operand can be infinite."""
    if not (p == q == types.float32):
        return None

    def codegen(context, builder, signature, args):
        p, q = args
        # 1 / q then an unflagged multiply: InstCombine would fold a flagged p * (1 / q), or a later
        # o * (p / q), back into one division with the intersection of both flags, dropping ninf
        r = builder.fdiv(ir.Constant(q.type, 1.0), q, flags=("ninf", "arcp", "contract", "nsz", "afn"))
        return builder.fmul(p, r)
    return types.float32(p, q), codegen


@overload(tanh)
def _tanh(x):
    if x == types.float32:
        def tanh32(x):
            # no clamp of x into [-_CLAMP, _CLAMP] first (Eigen's): past it the result is +-1 below, and
            # whatever the rational gives there (inf, NaN) is never taken; the same results bit for bit,
            # two vector operations fewer (the lstm forward's elementwise step ~10 % faster)
            x2 = x * x
            p = ((((((A6 * x2 + A5) * x2 + A4) * x2 + A3) * x2 + A2) * x2 + A1) * x2 + A0) * x
            q = ((B3 * x2 + B2) * x2 + B1) * x2 + B0
            # exactly +-1 past the clamp, as float32 tanh rounds there (its true value is within 2.7e-7 of
            # it): the rational stops 3 ulp short of 1, which left saturated units a derivative of 5e-7
            # instead of 0, and gradients through them growing where PyTorch's vanish
            if x >= _CLAMP:
                return ONE32
            if x <= -_CLAMP:
                return -ONE32
            return finite_div(p, q)     # |x| < _CLAMP: p and q are finite, q >= B0 > 0 (NaN passes)
        return tanh32
    return lambda x: np.tanh(x)


@overload(sigmoid)
def _sigmoid(x):
    if x == types.float32:
        return lambda x: HALF32 * tanh(HALF32 * x) + HALF32
    return lambda x: 1.0 / (1.0 + np.exp(-x))


# ---- software prefetch -------------------------------------------------------------------------------

def _prefetch(write):
    """An intrinsic f(row) (row: a 1-D C array) that asks for row's cache lines in L2 ahead of their use, one
    prefetch per 64-byte line; write=True for a row about to be overwritten (its lines arrive owned, sparing
    the store a read). Changes no value.

    The lstm backward walks time in reverse, and step t-1's saved gates and states lie below step t's: the
    hardware prefetchers, which follow a stream within a 4 KB page, start cold on every page, and a step at
    T=1000 waited ~60 % longer than the same step with its data in cache. Prefetching step t-1's rows while
    step t computes hides most of it (74 -> 61-65 us a step at B=32, H=128), and the forward's stores of the
    gates gain from prefetching their lines owned (54 -> 48 ms at T=1000). The gru and rnn kernels stream
    less per step and measured no gain."""
    @intrinsic
    def prefetch(typingctx, row):
        if not (isinstance(row, types.Array) and row.ndim == 1 and row.layout == "C"):
            return None

        def codegen(context, builder, signature, args):
            arr = context.make_array(signature.args[0])(context, builder, args[0])
            intp = lambda v: context.get_constant(types.intp, v)  # noqa: E731
            base = builder.bitcast(arr.data, ir.IntType(8).as_pointer())
            nbytes = builder.mul(cgutils.unpack_tuple(builder, arr.shape, 1)[0],
                                 intp(context.get_abi_sizeof(arr.data.type.pointee)))
            with cgutils.for_range_slice(builder, intp(0), nbytes, intp(64)) as (off, _):
                prefetch_line(builder, builder.gep(base, [off]), write)
            return context.get_dummy_value()
        return types.void(row), codegen
    return prefetch


prefetch_read, prefetch_write = _prefetch(False), _prefetch(True)

# the size of a kernel's streamed arrays past which they no longer sit in a core's L2 (2 MB on the hosts
# measured) and prefetching can pay; below it a prefetch finds its line in cache and is only one more
# instruction per line
PREFETCH_BYTES = 2 << 20
# the packed weights past which a step's product, streaming them through L2 between a prefetch and the
# prefetched rows' use, evicts those rows first (lstm, 2 threads, with/without prefetch, one process: H = 512
# backward 96.0/92.4 ms, forward 86.9/81.1; H = 384 backward 49.4/45.6; at H = 256, 1.1-1.2 MB of weights,
# the backward still gained, 43.2/45.2, the forward lost 37.4/36.2; at H = 128 both gain 15-25 %)
PREFETCH_WEIGHT_BYTES = 3 * PREFETCH_BYTES // 4


def prefetch_pays(w, *arrays):
    """Whether a kernel streaming `arrays` through time, with a per-step product on w = pack(...), should
    prefetch the next step's rows."""
    return sum(a.nbytes for a in arrays) > PREFETCH_BYTES and w[0].nbytes <= PREFETCH_WEIGHT_BYTES


# ---- subnormal floats --------------------------------------------------------------------------------

# x86 MXCSR: flush-to-zero (results) and denormals-are-zero (inputs)
_FTZ_DAZ = 0x8040
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def _mxcsr(typingctx, keep, add):
    """Set the calling thread's x86 MXCSR to (old & keep) | add; returns the old value."""
    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        fn = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
        slot = cgutils.alloca_once(builder, i32)
        ptr = builder.bitcast(slot, ir.IntType(8).as_pointer())
        builder.call(cgutils.get_or_insert_function(builder.module, fn, "llvm.x86.sse.stmxcsr"), [ptr])
        old = builder.load(slot)
        builder.store(builder.or_(builder.and_(old, args[0]), args[1]), slot)
        builder.call(cgutils.get_or_insert_function(builder.module, fn, "llvm.x86.sse.ldmxcsr"), [ptr])
        return old
    return types.int32(types.int32, types.int32), codegen


@njit(cache=True, nogil=True)
def _update_mxcsr(keep, add):
    return _mxcsr(np.int32(keep), np.int32(add))


def _flushed(kernel, lo, hi, *args, **kwargs):
    """kernel(lo, hi, *args) with subnormal floats flushed to zero in this thread, its mode restored after.

    A vanishing gradient decays through float32's subnormal range (below 1.2e-38), where every arithmetic
    instruction that touches one takes a microcode assist of ~100 cycles: a backward (and the BLAS weight
    gradients after it) then ran 5-25x slower (rnn adding T=400: 109 ms a training step against 19 ms).
    A gradient that small moves no weight; the gradient-norm curves read 0 below ~1e-38 in float32 (and
    below ~2.2e-308 in float64) instead of ~1e-45 (~5e-324). Only the kernels' threads, only while they run:
    the caller's own floating-point mode is never changed."""
    if not _X86:
        return kernel(lo, hi, *args, **kwargs)
    old = _update_mxcsr(-1, _FTZ_DAZ)
    try:
        return kernel(lo, hi, *args, **kwargs)
    finally:
        _update_mxcsr(0, old)


# ---- what a cell's kernel module returns ------------------------------------------------------------

class KernelForward(NamedTuple):
    """A cell module's forward(cell, p, x, h0, c0, lengths, relu, keep); its backward(cell, p, x, out, h0, c0,
    lengths, saved, relu, d_out, d_hn, d_cn) returns the backend's LayerGrads."""
    output: np.ndarray              # (T, B, H)
    h_n: np.ndarray                 # (B, H)
    c_n: Optional[np.ndarray]       # (B, H), or None without a cell state
    saved: object                   # what the cell's backward reads (gates, cell states), or None


# ---- threads over batch blocks ---------------------------------------------------------------------

_pool = None
_blas = ThreadpoolController().select(user_api="blas")


def _threads(B, min_block):
    return max(1, min(numba.get_num_threads(), B // min_block))


def thread_rows(B, min_block=1):
    """The fewest of B rows that one thread of run_blocks(kernel, B, min_block=min_block) gets."""
    return B // _threads(B, min_block)


def run_blocks(kernel, B, *args, min_block=1, blas=False, **kwargs):
    """Call kernel(lo, hi, *args, **kwargs) on fixed contiguous blocks of range(B) (the batch rows), one per
    thread (the kernels take their arrays by name: kwargs).

    The thread count is numba's (NUMBA_NUM_THREADS / numba.set_num_threads), fewer where a block would hold
    fewer than min_block items (handing work to a thread costs ~0.1 ms); the kernels release the GIL.
    blas: the kernel calls BLAS, which is then held to one thread while it runs: BLAS's own workers would
    oversubscribe the cores ours run on, and after a call they spin for a while, slowing whatever runs next.
    Only then: reading and setting BLAS's thread count costs ~13 us a call (a tenth of a B = 1 layer's
    Python time).
    """
    if not blas:
        _run_blocks(kernel, B, min_block, args, kwargs)
        return
    libs = _blas.lib_controllers
    old = [lib.get_num_threads() for lib in libs]
    for lib in libs:    # direct calls: threadpoolctl's limit() context costs ~0.1 ms per use
        lib.set_num_threads(1)
    try:
        _run_blocks(kernel, B, min_block, args, kwargs)
    finally:
        for lib, k in zip(libs, old):
            lib.set_num_threads(k)


def _run_blocks(kernel, B, min_block, args, kwargs):
    global _pool
    n = _threads(B, min_block)
    if n == 1:
        _flushed(kernel, 0, B, *args, **kwargs)
        return
    bounds = [B * k // n for k in range(n + 1)]
    if _pool is None or _pool._max_workers < n - 1:
        _pool = ThreadPoolExecutor(n - 1)
    # the calling thread runs the first block itself: one thread fewer to wake (~50 us each)
    rest = [_pool.submit(_flushed, kernel, bounds[k], bounds[k + 1], *args, **kwargs) for k in range(1, n)]
    try:
        _flushed(kernel, bounds[0], bounds[1], *args, **kwargs)
    finally:
        for f in rest:
            f.result()


# a float64 sum of squares in [SAFE_LO, SAFE_HI] lost nothing to underflow or overflow (every square that
# underflowed is below eps of it); outside, row_norm rescales by the largest entry
SAFE_LO, SAFE_HI = 2.0 ** -960, 2.0 ** 960


@njit(inline="always")
def activation_grad(d, dy, y, relu, dpre_row):
    # d, dy, y, dpre_row: (H,). The rnn and indrnn step: d += dy (the output's own gradient), making d =
    # dL/dh_t; then dpre_row = dL/d(pre-activation) from the activation's output y (relu' = [y > 0],
    # tanh' = 1 - y^2)
    zero = y.dtype.type(0)
    one = y.dtype.type(1)
    for j in range(d.shape[0]):
        d[j] += dy[j]
    if relu:
        for j in range(d.shape[0]):
            dpre_row[j] = d[j] if y[j] > zero else zero
    else:
        for j in range(d.shape[0]):
            dpre_row[j] = d[j] * (one - y[j] * y[j])


@njit(inline="always")
def row_norm(a):
    # a: (H,) -> ||a||_2 in float64, right from ~1e-308 (float64) up: a plain sum of squares reads 0 once
    # entries fall below ~1e-154, the depths a vanishing-gradient curve reaches
    s = 0.0
    for j in range(a.shape[0]):
        v = np.float64(a[j])
        s += v * v
    if SAFE_LO <= s <= SAFE_HI:
        return np.sqrt(s)
    return scaled_norm(a)


@njit
def scaled_norm(a):
    # a: (H,) -> max|a_j| * ||a / max|a_j|||, the way LAPACK's nrm2 avoids underflow; NaN and inf pass through
    m = 0.0
    for j in range(a.shape[0]):
        v = abs(np.float64(a[j]))
        if v > m or v != v:
            m = v
    if m == 0.0 or m != m or m == np.inf:
        return m
    s = 0.0
    for j in range(a.shape[0]):
        v = np.float64(a[j]) / m
        s += v * v
    return m * np.sqrt(s)


def row_norms(T, B, wanted):
    """The backward kernels' (T, B) float64 buffer of per-row norms ||dL/dh_t[b]||, or a (0, 0) one, which
    tells a kernel to skip them (a training step does not read them: ~5% of an LSTM step at H=128)."""
    return np.empty((T, B) if wanted else (0, 0))


def norms(parts, dtype):
    """parts: (T, B) per-row norms (row_norm), or (0, 0) -> (T,) Frobenius norms in dtype, or None."""
    return _norms(parts).astype(dtype) if parts.shape[0] else None


@njit(cache=True, nogil=True)
def _norms(parts):
    # parts: (T, B) float64 -> (T,): combined in a fixed order and scaled by each step's largest row norm,
    # so tiny norms do not underflow when squared
    out = np.empty(parts.shape[0])
    for t in range(parts.shape[0]):
        out[t] = scaled_norm(parts[t])
    return out


# ---- whole-sequence GEMMs ---------------------------------------------------------------------------

def stacked_weights(p):
    """[W_ih^T; W_hh^T]: (I + H, G*H), the weights of z_t = [x_t | h_{t-1}] in the forward kernels, as
    np.block's nested list of views (pack packs it without building it).

    One product per step then gives W_ih x_t + W_hh h_{t-1}: no (T, B, G*H) input projection is ever
    written to memory and read back."""
    return [[p["weight_ih"].T], [p["weight_hh"].T]]


def pack_backward(p, input_grad=True):
    """pack of [W_hh | W_ih] and the column xo where dL/dx_t starts: one product of a step's dL/da (B, G*H)
    gives dL/dh_{t-1} (columns :H) and dL/dx_t (columns xo:xo + I), read while dL/da is still in cache.
    Without input_grad, W_hh alone (a training step's first layer: at I = 2 its padded panel of W_ih was a
    fifth of the product)."""
    w_hh, w_ih = p["weight_hh"], p["weight_ih"]
    (G, H), I = w_hh.shape, w_ih.shape[1]
    if not input_grad:
        return pack(w_hh), padded(H, w_hh.dtype)
    return pack([[w_hh, w_ih]], [(H, 0, G), (I, 0, G)]), padded(H, w_hh.dtype)


class BackwardProduct(NamedTuple):
    """The per-step product of the lstm and rnn backward kernels and where their dL/dx comes from."""
    w: tuple                        # pack_backward(p, ...)
    xo: int                         # the product's column where dL/dx_t starts
    dx: np.ndarray                  # the kernel's dL/dx buffer (T, B, I), or (T, B, 0): it computes none
    after: Optional[np.ndarray]     # (T, B, I) dL/dx that input_grads fills after the loop, or None


def backward_product(p, T, B, dtype, input_grad):
    """BackwardProduct: dL/dx_t in the kernel's per-step product, except for a single sequence (B = 1): then
    after the loop, in one product over all T rows.

    A one-row product streams its packed weights from L2 for that row alone, and there the mostly padded
    panel of W_ih (2 columns of 32 at I = 2) is a fifth of each step's bytes; after the loop (_after_loop)
    nothing is padded. Same k-sequential sums, so dL/dx is bitwise the same. lstm forward+backward, 2
    threads, in the loop / after, alternating in one process: 100,1,2,128 987/927 us, 1000,1,2,128
    7.40/6.97 ms, 200,1,10,128 1.76/1.74 ms, 100,1,128,512 31.6/30.9 ms. With more rows the panel's stream
    is shared (with 2-7 rows a thread a padded product after the loop lost 2-3 %)."""
    I = p["weight_ih"].shape[1]
    if input_grad and B == 1:
        return BackwardProduct(*pack_backward(p, False), input_grad_buffer(T, B, I, dtype, False),
                               workspace.empty((T, B, I), dtype))
    return BackwardProduct(*pack_backward(p, input_grad), input_grad_buffer(T, B, I, dtype, input_grad), None)


def input_grads(bp, p, da):
    """dL/dx (T, B, I) from the backward kernel's run with bp = backward_product(...) and its dL/da (T, B, G)
    (dL/d(pre-activations)), or None where none was asked for."""
    if bp.after is None:
        return bp.dx if bp.dx.shape[2] else None
    T, B, G = da.shape
    _after_loop(da.reshape(T * B, G), p["weight_ih"], bp.after.reshape(T * B, -1))
    return bp.after


@njit(**KERNEL)
def _after_loop(da, w_ih, dx):
    # da: (N, G); w_ih: (G, I) -> dx: (N, I) = da @ w_ih, each element a multiply_add chain over k ascending
    # from 0 as the packed product's tiles sum it (so bitwise what the kernel's loop gave). A tile would
    # multiply I = 2 columns padded to a whole panel (16 times the work); here ROWS rows at a time, da's rows
    # turned into columns (transposed in registers), so that each row's chains run in their own lane, many
    # independent chains per k.
    N, G = da.shape
    I = w_ih.shape[1]
    ROWS = 8 * VECTOR_BYTES // da.itemsize
    zero = da.dtype.type(0)
    cols = np.empty((G, ROWS), da.dtype)            # cols[k, r] = da[r0 + r, k]
    acc = np.empty((I, ROWS), da.dtype)
    for r0 in range(0, N, ROWS):
        n = min(ROWS, N - r0)
        transpose(cols[:, :n], da[r0:r0 + n])
        cols[:, n:] = zero
        acc[:] = zero
        for k in range(G):
            for i in range(I):
                w = w_ih[k, i]
                for r in range(ROWS):
                    acc[i, r] = multiply_add(cols[k, r], w, acc[i, r])
        for r in range(n):
            for i in range(I):
                dx[r0 + r, i] = acc[i, r]


def input_grad_buffer(T, B, I, dtype, input_grad):
    """The backward kernels' dL/dx buffer (T, B, I), or (T, B, 0) without input_grad: a kernel reads its I
    off the buffer and computes no dL/dx for I = 0."""
    return workspace.empty((T, B, I if input_grad else 0), dtype)


# multiply-adds per thread below which a weight-grad GEMM stays on the calling thread: waking a second
# thread after the backward's own costs ~0.3 ms in place (measured at T=100, B=1, H=128: 0.7 ms -> 0.2 ms)
MIN_BLOCK_MACS = 20_000_000


# elements copied per thread below which stack_inputs stays on the calling thread
MIN_BLOCK_ITEMS = 1 << 20


@njit(**KERNEL)
def stack_inputs(lo, hi, h0, out, x, z):
    # h0: (B, H); out: (T, B, H); x: (T, B, I); z: (T, B, H + 1 + I): rows t in lo:hi = [h_{t-1} | 1 | x_t]
    # with h_{-1} = h0
    # copy_row, not slice assignments (a training step's operand, T=400, B=50: 1.1 ms against 1.9)
    H = h0.shape[1]
    one = z.dtype.type(1)
    for t in range(lo, hi):
        h_prev = h0 if t == 0 else out[t - 1]
        for b in range(z.shape[1]):
            row = z[t, b]
            copy_row(row, h_prev[b])
            row[H] = one
            copy_row(row[H + 1:], x[t, b])


def _transposed_block(lo, hi, products):
    # rows lo:hi of every out = a.T @ b, for (a, b, out) in products: a (N, G), b (N, K), out (G, K)
    for a, b, out in products:
        np.matmul(a[:, lo:hi].T, b, out=out[lo:hi])


def transposed_products(products):
    """out = a.T @ b for (a, b, out) in products (all out with the same G rows), the rows split over our
    threads, each running a single-threaded BLAS; on the calling thread alone below MIN_BLOCK_MACS per
    thread."""
    G = products[0][2].shape[0]
    macs = sum(a.shape[0] * b.shape[1] for a, b, _ in products)
    run_blocks(_transposed_block, G, products, blas=True, min_block=max(1, MIN_BLOCK_MACS // macs))


def weight_grads(p, x, h0, out, da, dxn=None):
    """Whole-sequence GEMMs for the PyTorch parameter grads.

    x: (T, B, I); h0: (B, H); out: (T, B, H); da: (T, B, G*H) dL/d(pre-activations), the same for the
    input and the recurrent side except the GRU's n gate, whose input-side grads are dxn (T, B, H) (None for
    the other cells). The state entering step t is h0 or out[t-1]: where they differ (padded rows) da is
    zero. The operands are laid side by side as z = [h_prev | 1 | x] so every weight and bias grad comes from
    one pass over the large gradient array.
    The rows of the grads are split over our threads, each running a single-threaded BLAS: BLAS's own
    workers would keep spinning after the call and slow the next forward's threads by up to 2x.
    """
    T, B, I = x.shape
    H = h0.shape[1]
    z = workspace.empty((T, B, H + 1 + I), x.dtype)
    # filled by our threads: NumPy's four strided copies took ~8 ms on one thread at T=1000, B=64
    run_blocks(stack_inputs, T, h0, out, x, z, min_block=max(1, MIN_BLOCK_ITEMS // (B * (H + 1 + I))))
    z = z.reshape(T * B, -1)
    G = da.shape[2]
    w_h = np.empty((G, H + 1 + I), x.dtype)
    transposed_products([(da.reshape(T * B, G), z, w_h)])
    w_x = w_h[:, H:]
    if dxn is not None:
        w_x = w_x.copy()
        transposed_products([(dxn.reshape(T * B, H), z[:, H:], w_x[2 * H:])])
    return {
        "weight_ih": np.ascontiguousarray(w_x[:, 1:]),
        "weight_hh": np.ascontiguousarray(w_h[:, :H]),
        "bias_ih": w_x[:, 0].copy(),
        "bias_hh": w_h[:, H].copy(),
    }


drop_stale(_norms)       # before any kernel in this package loads from Numba's cache (see kernels.cpu.cache)

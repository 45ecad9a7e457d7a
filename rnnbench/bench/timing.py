"""Timing harness: warm every function up (absorbing JIT compilation), then time them interleaved.

Interleaving (A B C, A B C, ...) rather than timing A's repeats then B's makes the ratios between them robust
to the slow drifts of a shared machine (another job starting, frequency changes): each repeat of every
function sees the same conditions. Each timed call directly follows an untimed call of the same function,
so it runs in its steady state, as in a training loop: the thread pools of the function timed before it
(OpenMP and BLAS workers spin for a while after each call) have quieted down and its own are awake.
Without that lead-in a 1 ms call measured right after PyTorch ran 2-7x slower. The lead-in lasts at least
LEAD_IN_S: JAX's workers spin longer than one 0.1-0.5 ms call, and beside them a one-row call read up to
40 % slower. Bench rows report the median, which ignores the odd preempted repeat.
"""
import gc
import time

LEAD_IN_S = 0.02


def time_interleaved(fns, repeats, warmup=1, lead_in_s=None):
    """Wall times in seconds of `repeats` timed calls of each zero-argument callable in `fns`: one list each.

    Each is first called `warmup` times untimed (so compilation and first-touch allocation are never timed),
    and every timed call follows untimed lead-in calls of the same function (one, or as many as fill
    lead_in_s, LEAD_IN_S by default; 0: exactly one, so that every function is called equally often);
    the garbage collector runs once after the warm-up and is off during each timed call, as in `timeit`
    (a full collection per call would cost more than a small call: the heap holds torch's and Numba's
    objects).
    """
    lead_in = LEAD_IN_S if lead_in_s is None else lead_in_s
    for fn in fns:
        for _ in range(warmup):
            fn()
    gc.collect()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            fn()
            while time.perf_counter() - start < lead_in:
                fn()
            gc.disable()
            try:
                start = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - start)
            finally:
                gc.enable()
    return times

"""JAX comparators: one layer of each cell as a jitted `jax.lax.scan` of its equations, gradients by jax.vjp.

Written from the cell equations (DESIGN.md) with PyTorch's parameter layout, so the state_dict that loads
nn.RNN/GRU/LSTM loads these too: weight_ih_l0 (G*H, I), weight_hh_l0 (G*H, H), bias_ih_l0, bias_hh_l0
(G*H,), and weight_peephole_l0 (3, H) rows (p_i, p_f, p_o). As PyTorch's modules do, the input projection
xp = x W_ih^T + b_ih is one product over the whole sequence; each scan step adds hp = h_{t-1} W_hh^T + b_hh:

    rnn       h = tanh(xp + hp)
    gru       r = s(xp_r + hp_r);  z = s(xp_z + hp_z);  n = tanh(xp_n + r * hp_n);  h = (1 - z) * n + z * h
    lstm      a = xp + hp;  i, f, o = s(a_i), s(a_f), s(a_o);  c = f * c + i * tanh(a_g);  h = o * tanh(c)
    peephole  i = s(a_i + p_i * c_{t-1});  f = s(a_f + p_f * c_{t-1});  c as lstm;  o = s(a_o + p_o * c_t)

Threads: XLA sizes its CPU thread pool once, from the process's CPU affinity when JAX's CPU client starts
(tsl::port::NumSchedulableCPUs); in jax 0.10 neither XLA_FLAGS (--xla_cpu_multi_thread_eigen=false,
intra_op_parallelism_threads=N) nor any JAX option bounds it: with both flags set a 1024^3 product still ran
on 4 threads of a 2-core host, while a 1-CPU affinity at start gave one busy thread. start_cpu(n) therefore
starts the client with the calling thread confined to n of its CPUs: the pool's threads keep that
confinement (JAX computes on at most n CPUs), the calling thread gets its full set back.
"""
import os

import jax
import jax.numpy as jnp
from jax._src import xla_bridge   # no public API tells whether JAX's backends have started

from rnnbench.errors import InputError

_started = {"threads": None}     # the CPU count this process's JAX CPU client was started on


def start_cpu(threads):
    """Start JAX's CPU client computing on `threads` CPUs (once per process; float64 enabled).

    InputError if JAX already started in this process on another count, or before this call (its pool
    size is then unknown): that cannot change without a new process."""
    if _started["threads"] == threads:
        return
    if _started["threads"] is not None:
        raise InputError(f"JAX's CPU thread pool was started on {_started['threads']} CPUs in this process "
                         f"and cannot change to {threads}: run the bench in a new process")
    if xla_bridge.backends_are_initialized():
        raise InputError("JAX was started in this process before the bench, with a thread pool the bench "
                         "cannot size: run the bench in a new process")
    jax.config.update("jax_enable_x64", True)      # float64 rows; float32 arrays stay float32
    allowed = sorted(os.sched_getaffinity(0))
    if threads > len(allowed):
        raise InputError(f"threads={threads} exceeds the {len(allowed)} CPUs this process may run on")
    os.sched_setaffinity(0, allowed[:threads])
    try:
        jax.devices("cpu")
    finally:
        os.sched_setaffinity(0, allowed)
    _started["threads"] = threads


def _rnn(p, h, c, xp):
    # xp: (B, H); h: (B, H); c unused
    return jnp.tanh(xp + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]), c


def _gru(p, h, c, xp):
    # xp: (B, 3H) gates r, z, n; h: (B, H); c unused
    hp = h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
    xr, xz, xn = jnp.split(xp, 3, axis=1)
    hr, hz, hn = jnp.split(hp, 3, axis=1)
    r = jax.nn.sigmoid(xr + hr)
    z = jax.nn.sigmoid(xz + hz)
    n = jnp.tanh(xn + r * hn)
    return (1 - z) * n + z * h, c


def _lstm(p, h, c, xp):
    # xp: (B, 4H) gates i, f, g, o; h, c: (B, H)
    a_i, a_f, a_g, a_o = jnp.split(xp + h @ p["weight_hh_l0"].T + p["bias_hh_l0"], 4, axis=1)
    c = jax.nn.sigmoid(a_f) * c + jax.nn.sigmoid(a_i) * jnp.tanh(a_g)
    return jax.nn.sigmoid(a_o) * jnp.tanh(c), c


def _peephole(p, h, c, xp):
    # xp: (B, 4H) gates i, f, g, o; h, c: (B, H); weight_peephole_l0 (3, H) rows p_i, p_f, p_o
    a_i, a_f, a_g, a_o = jnp.split(xp + h @ p["weight_hh_l0"].T + p["bias_hh_l0"], 4, axis=1)
    peep = p["weight_peephole_l0"]
    c = jax.nn.sigmoid(a_f + peep[1] * c) * c + jax.nn.sigmoid(a_i + peep[0] * c) * jnp.tanh(a_g)
    return jax.nn.sigmoid(a_o + peep[2] * c) * jnp.tanh(c), c


def _indrnn(p, h, c, xp):
    # xp: (B, H); h: (B, H); c unused; weight_hh_l0 (H,): each unit recurs on itself only (Li et al. 2018)
    return jax.nn.relu(xp + p["weight_hh_l0"] * h + p["bias_hh_l0"]), c


# the cells compared -> their scan step (p, h, c, xp) -> (h, c), with the cell's default nonlinearity;
# tests/test_registry.py checks it covers every registered cell
STEPS = {
    "rnn": _rnn,
    "gru": _gru,
    "lstm": _lstm,
    "peephole": _peephole,
    "indrnn": _indrnn,
}
CELLS = tuple(STEPS)


def layer(cell, p, x):
    """One layer of `cell` from a zero state. p: state_dict of jax arrays; x: (T, B, I).
    Returns (output (T, B, H), h_n (B, H), c_n (B, H), zeros for cells without a cell state)."""
    step = STEPS[cell]
    xp = x @ p["weight_ih_l0"].T + p["bias_ih_l0"]             # (T, B, G*H)
    zero = jnp.zeros((x.shape[1], p["weight_hh_l0"].shape[-1]), x.dtype)     # H: (G*H, H) or a vector (H,)

    def body(carry, xp_t):
        h, c = step(p, *carry, xp_t)
        return (h, c), h

    (h, c), output = jax.lax.scan(body, (zero, zero), xp)
    return output, h, c


def compiled(cell):
    """(forward, forward_backward), jitted: forward(p, x) -> output (T, B, H), for inference;
    forward_backward(p, x, d_output) -> (output, parameter gradients (dict), dx (T, B, I)), backward from
    the fixed d_output: (T, B, H) on every output."""

    def forward(p, x):
        return layer(cell, p, x)[0]

    def forward_backward(p, x, d_output):
        output, pull = jax.vjp(forward, p, x)
        d_p, dx = pull(d_output)
        return output, d_p, dx

    return jax.jit(forward), jax.jit(forward_backward)

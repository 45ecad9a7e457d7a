"""rnnbench: benchmark and compare recurrent cells (rnn, gru, lstm, peephole) on NumPy, Numba CPU and CUDA.

    m = rnnbench.RNN("lstm", input_size=2, hidden_size=128, backend="cpu")
    out = m.forward(x)                 # x: (T, B, I)
    g = m.backward(out, d_output)      # parameter grads, dx, dh0, per-timestep ||dL/dh_t||
"""
from rnnbench.errors import InputError
from rnnbench.network import RNN

__version__ = "0.1.0"
__all__ = ["RNN", "InputError", "__version__"]

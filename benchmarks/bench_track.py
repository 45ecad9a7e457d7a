"""Numbers that must not drift silently between commits (asv `track_`; asv flags a step change like a slowdown).

- the vanilla tanh RNN's vanishing gradient at initialization: ||dL/dh_0|| / ||dL/dh_{T-1}|| for a loss
  on the last step only (Arjovsky, Shah & Bengio 2016); a kernel change that alters it changed the math.
"""
import numpy as np

from benchmarks import common

RATIO_SHAPE = "T50-B16-I16-H64"    # short enough that the ratio (~1e-10) stays far from float32 underflow


class GradNormRatio:
    params = (common.BACKENDS,)
    param_names = ["backend"]
    unit = "||dL/dh_0|| / ||dL/dh_T-1||"

    def setup(self, backend):
        common.require_backend(backend)

    def track_rnn_tanh_init(self, backend):
        T, B, I, H = common.dims(RATIO_SHAPE)
        m = common.model("rnn", backend, I, H, nonlinearity="tanh")
        x, _ = common.inputs(T, B, I, H)
        d_output = np.zeros((T, B, H), dtype=common.DTYPE)
        d_output[-1] = 1.0 / B             # L = mean over the batch of sum(h_{T-1})
        norms = m.backward(m.forward(x), d_output).grad_norms[0]
        return float(norms[0] / norms[-1])

"""Numbers that must not drift silently between commits (asv `track_`; asv flags a step change in them
like a slowdown). A change here means a change in the math, the initialization or the seeding.

- the vanilla tanh RNN's vanishing gradient at initialization, as `rnnbench gradnorm` reports it:
  ||dL/dh_0|| / ||dL/dh_{T-1}|| on the adding task's probe batch at T=100, loss on the last step only
  (Arjovsky, Shah & Bengio 2016);
- the test loss after a fixed short seeded training run (100 Adam steps, small model) per task x cell.
"""
from benchmarks import common


class GradNormRatio:
    params = (common.BACKENDS,)
    param_names = ["backend"]
    unit = "||dL/dh_0|| / ||dL/dh_T-1||"

    def setup(self, backend):
        common.require_backend(backend)

    def track_rnn_tanh_at_init(self, backend):
        from rnnbench.train import train
        config = common.train_config("adding", "rnn", backend, 100, steps=0, test_size=50)
        rows = train(config).gradnorms
        top = max(row["layer"] for row in rows)
        h = {row["t"]: row["h_norm"] for row in rows if row["layer"] == top}
        return h[0] / h[max(h)]


class ShortRunLoss:
    params = (common.TASKS, common.CELLS, common.BACKENDS)
    param_names = ["task", "cell", "backend"]
    unit = "test loss"
    timeout = 600

    def setup(self, task, cell, backend):
        common.require_backend(backend, cell)

    def track_test_loss(self, task, cell, backend):
        from rnnbench.train import train
        config = common.train_config(task, cell, backend, 20, hidden=32, batch=32, steps=100,
                                     eval_every=100, test_size=100)
        return train(config).metrics[-1]["test_loss"]

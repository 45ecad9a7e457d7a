"""The adding problem: remember two marked values over a long sequence and output their sum at the end.

Variant "arjovsky" (the default; Arjovsky, Shah & Bengio 2016, "Unitary evolution recurrent neural
networks", ICML, section 4.2): T steps of 2 channels, values ~ U[0, 1] and a marker channel with exactly two
1s, the first at randint(T/2), the second at T/2 + randint(T - T/2); target = sum of the two marked values.
Baseline (always predict 1, the mean): MSE = Var(U1 + U2) = 1/6.

Variant "hochreiter" (Hochreiter & Schmidhuber 1997, "Long short-term memory", Neural Computation 9(8),
experiment 4): values ~ U[-1, 1]; lengths vary uniformly in T..T + T/10; one of the first 10 steps is marked
(its value X1), then one of the first T/2 - 1 steps not yet marked (X2); the marker
channel is -1 at the first and last step unless marked there; a marked step 0 has value 0 (the
paper's "X1 = 0" case); target = 0.5 + (X1 + X2) / 4.
Baseline (always predict 0.5): MSE = (E X1^2 + E X2^2) / 16 with E X^2 = P(X not at step 0) / 3:
P(X1 at 0) = 1/10, P(X2 at 0) = 9/10 / (T/2 - 2).

Both: MSE at the last step of each sequence; "accuracy" = fraction with |error| < 0.04, the criterion
Hochreiter & Schmidhuber call "processed correctly". "Solved": test MSE < 0.01 (Arjovsky et al. 2016).
"""
import numpy as np

from rnnbench.tasks.base import Batch, SolveCriterion, Task

TOLERANCE = 0.04


class Adding(Task):
    input_size = 2
    output_size = 1
    solve_criterion = SolveCriterion("test_loss", "<", 0.01, "test MSE < 0.01")
    min_seq_len = 2                  # one marker in each half
    VARIANTS = ("arjovsky", "hochreiter")

    @classmethod
    def from_config(cls, c):
        return cls(c["seq_len"], c["adding_variant"])

    def __init__(self, seq_len, variant="arjovsky"):
        self.seq_len = seq_len
        self.variant = variant
        if variant == "arjovsky":
            self.baseline_loss = 1 / 6
        else:
            self.baseline_loss = (0.9 + 1 - 0.9 / (seq_len // 2 - 2)) / 3 / 16

    def batch(self, rng, n):
        return (self._arjovsky if self.variant == "arjovsky" else self._hochreiter)(rng, n)

    def _arjovsky(self, rng, n):
        T, half = self.seq_len, self.seq_len // 2
        x = np.zeros((T, n, 2))
        x[:, :, 0] = rng.uniform(0, 1, (T, n))
        cols = np.arange(n)
        first = rng.integers(0, half, n)
        second = half + rng.integers(0, T - half, n)
        x[first, cols, 1] = 1
        x[second, cols, 1] = 1
        target = x[first, cols, 0] + x[second, cols, 0]
        return Batch(x, target[:, None], None)

    def _hochreiter(self, rng, n):
        T = self.seq_len
        lengths = rng.integers(T, T + T // 10 + 1, n)
        x = np.zeros((lengths.max(), n, 2))
        x[:, :, 0] = rng.uniform(-1, 1, x.shape[:2])
        cols = np.arange(n)
        x[0, :, 1] = -1
        x[lengths - 1, cols, 1] = -1
        first = rng.integers(0, 10, n)
        # uniform over the first T/2 - 1 steps other than `first`: draw from T/2 - 2 slots, skip `first`
        second = rng.integers(0, T // 2 - 2, n)
        second = second + (second >= first)
        x[first, cols, 1] = 1
        x[second, cols, 1] = 1
        x[0, (first == 0) | (second == 0), 0] = 0     # a marked first step counts as 0
        target = 0.5 + (x[first, cols, 0] + x[second, cols, 0]) / 4
        # past a sequence's length the model ignores the input; zero it so batches are unambiguous
        x[np.arange(x.shape[0])[:, None] >= lengths] = 0
        return Batch(x, target[:, None], lengths)

    def metrics(self, pred, batch):
        return {"accuracy": float(np.mean(np.abs(pred - batch.target) < TOLERANCE))}

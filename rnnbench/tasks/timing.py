"""Spike timing: measure the interval between two input spikes (where peepholes are expected to matter).

After Gers, Schraudolph & Schmidhuber 2002, "Learning precise timing with LSTM recurrent networks", JMLR 3,
task MSD ("measuring spike delays"). Our variant: one input channel of T steps, zero except two unit spikes,
the first at t1 ~ randint(D) and the second at t1 + d with d ~ uniform on 1..D, D = T // 2; the target is
d / D, read at the last step (so the measured interval must also be remembered until then); MSE.
Peepholes let the gates see the cell state, which the paper shows is what lets LSTM count steps precisely.
Baseline (always predict the mean delay): MSE = Var(d) / D^2 = (D^2 - 1) / (12 D^2).
"Accuracy" = fraction whose predicted delay rounds to the true one (|pred * D - d| < 0.5); "solved": accuracy
>= 95%.
"""
import numpy as np

from rnnbench.tasks.base import Batch, SolveCriterion, Task


class Timing(Task):
    input_size = 1
    output_size = 1
    solve_criterion = SolveCriterion("accuracy", ">=", 0.95,
                                     "delay measured to the step in >= 95% of test sequences")
    min_seq_len = 4

    @classmethod
    def from_config(cls, c):
        return cls(c["seq_len"])

    def __init__(self, seq_len):
        self.seq_len = seq_len
        self.max_delay = D = seq_len // 2
        self.baseline_loss = (D * D - 1) / (12 * D * D)

    def batch(self, rng, n):
        D = self.max_delay
        cols = np.arange(n)
        t1 = rng.integers(0, D, n)
        d = rng.integers(1, D + 1, n)
        x = np.zeros((self.seq_len, n, 1))
        x[t1, cols, 0] = 1
        x[t1 + d, cols, 0] = 1
        return Batch(x, (d / D)[:, None], None)

    def metrics(self, pred, batch):
        D = self.max_delay
        return {"accuracy": float(np.mean(np.abs(pred - batch.target) * D < 0.5))}

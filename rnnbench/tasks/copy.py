"""The copy (memory) task: read 10 symbols, wait T steps, then write them back.

Arjovsky, Shah & Bengio 2016, "Unitary evolution recurrent neural networks", ICML, section 4.1: alphabet
a0..a9 (a0 blank, a9 delimiter); input = 10 symbols i.i.d. uniform from a1..a8, then T - 1 blanks, the
delimiter, 10 blanks: T + 20 steps, one-hot (10 channels). Target = T + 10 blanks, then the 10 symbols.
Softmax cross-entropy at every step, averaged over all T + 20 steps (and the batch). The output has 9 classes
(a0..a8): the delimiter is never a target.
Baseline (memoryless: blank for T + 10 steps, uniform over the 8 symbols for the last 10):
10 ln 8 / (T + 20). "Accuracy" = fraction of the 10 recalled symbols predicted right; "solved": accuracy
>= 99%.
"""
import numpy as np

from rnnbench.tasks.base import Batch, SolveCriterion, Task

N_SYMBOLS = 10      # symbols to remember
DELIMITER = 9


class Copy(Task):
    input_size = 10
    output_size = 9
    readout = "all"
    loss = "ce"
    solve_criterion = SolveCriterion("accuracy", ">=", 0.99, "recall accuracy >= 99%")
    min_seq_len = 1

    @classmethod
    def from_config(cls, c):
        return cls(c["seq_len"])

    def __init__(self, seq_len):
        self.seq_len = seq_len
        self.baseline_loss = N_SYMBOLS * np.log(8) / (seq_len + 2 * N_SYMBOLS)

    def batch(self, rng, n):
        T = self.seq_len
        symbols = rng.integers(1, 9, (N_SYMBOLS, n))
        labels = np.zeros((T + 2 * N_SYMBOLS, n), dtype=np.int64)
        labels[:N_SYMBOLS] = symbols
        labels[T + N_SYMBOLS - 1] = DELIMITER
        x = np.zeros((T + 2 * N_SYMBOLS, n, 10))
        np.put_along_axis(x, labels[:, :, None], 1.0, axis=2)
        target = np.zeros_like(labels)
        target[-N_SYMBOLS:] = symbols
        return Batch(x, target, None)

    def metrics(self, pred, batch):
        # pred: (T + 20, B, 9) logits
        recalled = pred[-N_SYMBOLS:].argmax(axis=2)
        return {"accuracy": float(np.mean(recalled == batch.target[-N_SYMBOLS:]))}

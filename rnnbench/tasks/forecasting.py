"""Forecasting: from a window of the last T values, predict the next `horizon` values of a series.

Series (rnnbench.tasks.series): Mackey-Glass tau = 17, NARMA10 (input channels y and its driving u), yearly
sunspots. The series is standardized with the mean and std of its first 80% (the training part); training
windows have all their targets in that part, test windows all theirs in the last 20% (their inputs may reach
back into the training part, as a forecaster's history would). The readout predicts all `horizon` values at
the last step (direct multi-step forecast); MSE over them.
Metrics: NRMSE = RMSE / std of the test targets, one step ahead (nrmse_1) and `horizon` steps ahead
(nrmse_multi), against the persistence forecast y(t+k) = y(t) (persistence_1, persistence_multi).
Baseline loss = persistence's MSE on the test set. Accuracy does not apply (NaN), and neither does "solved":
a forecast is judged by its NRMSE against persistence, not by a threshold.
"""
import numpy as np

from rnnbench.errors import InputError
from rnnbench.tasks.base import Batch, Task
from rnnbench.tasks.series import LENGTHS, SERIES

TRAIN_FRACTION = 0.8


def check_fits(series, seq_len, horizon):
    """InputError unless `series` has at least one training window of seq_len inputs + horizon targets."""
    n_train = int(LENGTHS[series] * TRAIN_FRACTION)
    if seq_len + horizon > n_train:
        raise InputError(f"series {series!r} ({LENGTHS[series]} values, {n_train} for training) is too short "
                         f"for seq_len {seq_len} + horizon {horizon}")
    return n_train


class Forecasting(Task):
    min_seq_len = 1

    @classmethod
    def from_config(cls, c):
        return cls(c["seq_len"], c["series"], c["horizon"])

    def __init__(self, seq_len, series, horizon):
        self.seq_len, self.horizon = seq_len, horizon
        n_train = check_fits(series, seq_len, horizon)
        y, extra = SERIES[series]()
        channels = [y] if extra is None else [y, extra]
        self.data = np.stack([(c - c[:n_train].mean()) / c[:n_train].std() for c in channels], axis=1)
        self.input_size = self.data.shape[1]
        self.output_size = horizon
        # a window starting at s reads data[s:s+T] and predicts y[s+T : s+T+horizon]
        self.train_starts = np.arange(0, n_train - seq_len - horizon + 1)
        self.test_starts = np.arange(max(n_train - seq_len, 0), len(y) - seq_len - horizon + 1)
        test = self._windows(self.test_starts)
        self.scale = test.target[:, 0].std()
        persistence = self._persistence(test)
        self.baseline_loss = float(np.mean((persistence - test.target) ** 2))
        self.persistence_nrmse = self._nrmse(persistence, test.target)

    def _windows(self, starts):
        idx = starts[None, :] + np.arange(self.seq_len)[:, None]                  # (T, B)
        target_idx = starts[:, None] + self.seq_len + np.arange(self.horizon)      # (B, horizon)
        return Batch(self.data[idx], self.data[target_idx, 0], None)

    def _persistence(self, batch):
        return np.repeat(batch.x[-1, :, :1], self.horizon, axis=1)

    def _nrmse(self, pred, target):
        rmse = np.sqrt(np.mean((pred - target) ** 2, axis=0))                     # (horizon,)
        return rmse[0] / self.scale, rmse[-1] / self.scale

    def batch(self, rng, n):
        return self._windows(rng.choice(self.train_starts, n))

    def test_set(self, rng, n):
        """All test windows, or n of them evenly spaced; rng is not needed (the split is fixed)."""
        starts = self.test_starts
        if n < len(starts):
            starts = starts[np.linspace(0, len(starts) - 1, n).round().astype(int)]
        return self._windows(starts)

    def metrics(self, pred, batch):
        nrmse_1, nrmse_multi = self._nrmse(pred, batch.target)
        persistence_1, persistence_multi = self._nrmse(self._persistence(batch), batch.target)
        return {"accuracy": float("nan"), "nrmse_1": float(nrmse_1), "nrmse_multi": float(nrmse_multi),
                "persistence_1": float(persistence_1), "persistence_multi": float(persistence_multi)}

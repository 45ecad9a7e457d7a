"""What every task provides: seeded batches, a fixed test set, its trivial baseline loss and its metrics.

A task is an object with
    input_size, output_size     model sizes it needs
    readout                     "last": one prediction per sequence from the top layer's final state h_n
                                "all": one prediction per time step from the top layer's outputs
    loss                        "mse" (targets like the predictions) or "ce" (integer class per step)
    baseline_loss               loss of the trivial memoryless predictor (analytic, or on the test set)
    batch(rng, n) -> Batch      n fresh training sequences from the numpy Generator rng
    test_set(rng, n) -> Batch   the held-out set (a fresh batch unless the task splits its data)
    metrics(pred, batch) -> dict  at least {"accuracy": float}; forecasting adds NRMSE columns
    solve_criterion             when an evaluation counts as "solved" (a SolveCriterion), or None
                                (forecasting)
    min_seq_len                 the smallest seq_len the task's definition allows (a class attribute)
    from_config(config)         the task a normalized config describes (a classmethod)
"""
from typing import NamedTuple, Optional

import numpy as np


class Batch(NamedTuple):
    x: np.ndarray                  # (T, B, I) float64, time-major
    target: np.ndarray             # (B, O) float64 for readout "last"; (T, B) int64 classes for "all"
    lengths: Optional[np.ndarray]  # (B,) int64 when sequences differ in length, else None


class SolveCriterion(NamedTuple):
    """The task counts as solved at an evaluation whose metrics row has row[column] <op> threshold."""
    column: str                    # a metrics column: "test_loss" or "accuracy"
    op: str                        # "<" or ">="
    threshold: float
    description: str               # for people: "test MSE < 0.01"

    def holds(self, row):
        """Whether a metrics row (a dict, or a pandas row) meets the criterion; a NaN never does."""
        value = row[self.column]
        return bool(value < self.threshold if self.op == "<" else value >= self.threshold)


class Task:
    readout = "last"
    loss = "mse"
    solve_criterion = None

    def test_set(self, rng, n):
        return self.batch(rng, n)

    def take(self, batch, start, stop):
        """Sequences start..stop-1 of `batch`."""
        target = batch.target[:, start:stop] if self.readout == "all" else batch.target[start:stop]
        lengths = None if batch.lengths is None else batch.lengths[start:stop]
        return Batch(batch.x[:, start:stop], target, lengths)

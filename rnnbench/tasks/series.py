"""The three series of the forecasting task: Mackey-Glass (tau = 17), NARMA10 and yearly sunspots.

Each function returns (y, extra): y (N,) the series to forecast, extra (N,) an exogenous input channel or
None. The synthetic series are fixed (deterministic), so every run forecasts the same data.
"""
import functools
import importlib.resources

import numpy as np

DATA_SEED = 20020101    # NARMA10's input sequence: fixed, so the series is a dataset, not a draw
LENGTHS = {"mackey_glass": 3000, "narma10": 3000, "sunspots": 309}


@functools.lru_cache(maxsize=None)
def mackey_glass(n=LENGTHS["mackey_glass"], tau=17, dt=0.1, warmup=500):
    """Mackey & Glass 1977, "Oscillation and chaos in physiological control systems", Science 197:
    dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t), tau = 17 (chaotic), x = 1.2 for t <= 0;
    Euler steps of dt, sampled every time unit, the first `warmup` units dropped."""
    per_unit = int(round(1 / dt))
    lag = int(round(tau / dt))
    total = (n + warmup) * per_unit
    x = np.empty(total + lag + 1)
    x[:lag + 1] = 1.2
    for i in range(lag, total + lag):
        past = x[i - lag]
        x[i + 1] = x[i] + dt * (0.2 * past / (1 + past ** 10) - 0.1 * x[i])
    return x[lag + warmup * per_unit:lag + total:per_unit].copy(), None


@functools.lru_cache(maxsize=None)
def narma10(n=LENGTHS["narma10"], warmup=100):
    """NARMA10 (Atiya & Parlos 2000, IEEE Trans. Neural Networks 11(3)), driven by u ~ U[0, 0.5]:
    y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1.
    Returns (y, u): the model sees both, so y(t+1) is determined by its input window."""
    u = np.random.default_rng(DATA_SEED).uniform(0, 0.5, n + warmup)
    y = np.zeros(n + warmup)
    for t in range(9, n + warmup - 1):
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * y[t - 9:t + 1].sum() + 1.5 * u[t - 9] * u[t] + 0.1
    return y[warmup:].copy(), u[warmup:].copy()


@functools.lru_cache(maxsize=None)
def sunspots():
    """Yearly mean sunspot number 1700-2008 (309 values; SILSO/NOAA via statsmodels, public domain),
    shipped as rnnbench/data/sunspots.csv."""
    text = importlib.resources.files("rnnbench").joinpath("data/sunspots.csv").read_text()
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith(("#", "year"))]
    return np.array([float(v) for _, v in rows]), None


SERIES = {"mackey_glass": mackey_glass, "narma10": narma10, "sunspots": sunspots}

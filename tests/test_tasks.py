"""Task generators against their written definitions (shared DESIGN, the cited papers) and their baselines."""
import math

import numpy as np
import pytest

from rnnbench.config import normalize
from rnnbench.errors import InputError
from rnnbench.tasks import make_task


def task(**kw):
    return make_task(normalize(kw))


def test_adding_arjovsky_layout_and_targets():
    T, n = 31, 2000
    b = task(task="adding", seq_len=T).batch(np.random.default_rng(0), n)
    assert b.x.shape == (T, n, 2) and b.target.shape == (n, 1) and b.lengths is None
    values, markers = b.x[:, :, 0], b.x[:, :, 1]
    assert values.min() >= 0 and values.max() <= 1
    assert set(np.unique(markers)) == {0.0, 1.0} and (markers.sum(0) == 2).all()
    pos = np.sort(np.nonzero(markers.T)[1].reshape(n, 2), axis=1)
    assert (pos[:, 0] < T // 2).all() and (pos[:, 1] >= T // 2).all()
    # both halves are fully used: randint(T/2) and T/2 + randint(T - T/2)
    assert set(pos[:, 0]) == set(range(T // 2)) and set(pos[:, 1]) == set(range(T // 2, T))
    np.testing.assert_allclose(b.target[:, 0], (values * markers).sum(0))


def test_adding_baseline_is_one_sixth_within_sampling_error():
    t = task(task="adding", seq_len=10)
    b = t.batch(np.random.default_rng(1), 100_000)
    sq = (b.target - 1.0) ** 2            # the baseline always predicts 1
    assert abs(sq.mean() - 1 / 6) < 4 * sq.std() / math.sqrt(sq.size)
    assert t.baseline_loss == pytest.approx(1 / 6)


def test_adding_hochreiter_definition():
    T, n = 40, 3000
    t = task(task="adding", seq_len=T, adding_variant="hochreiter")
    b = t.batch(np.random.default_rng(2), n)
    assert b.lengths.min() >= T and b.lengths.max() <= T + T // 10
    assert set(b.lengths) == set(range(T, T + T // 10 + 1))
    assert (b.x[0, :, 1] == 1).sum() > 0          # the X1 = 0 case occurs
    for j in range(0, n, 7):
        L = b.lengths[j]
        v, m = b.x[:L, j, 0], b.x[:L, j, 1]
        marked = np.nonzero(m == 1)[0]
        assert len(marked) == 2 and marked[0] < 10 and marked[1] < T // 2 - 1
        assert (m[0] == -1 or marked[0] == 0) and m[L - 1] == -1
        assert set(np.nonzero(m == -1)[0]) <= {0, L - 1}
        if marked[0] == 0:
            assert v[0] == 0
        assert b.target[j, 0] == pytest.approx(0.5 + v[marked].sum() / 4)
        assert (b.x[L:, j] == 0).all()
    sq = (b.target - 0.5) ** 2
    assert abs(sq.mean() - t.baseline_loss) < 4 * sq.std() / math.sqrt(n)


def test_copy_layout_targets_and_baseline():
    T, n = 15, 500
    t = task(task="copy", seq_len=T)
    b = t.batch(np.random.default_rng(3), n)
    assert b.x.shape == (T + 20, n, 10) and b.target.shape == (T + 20, n)
    assert (b.x.sum(2) == 1).all()                              # one-hot at every step
    sym = b.x.argmax(2)
    assert ((sym[:10] >= 1) & (sym[:10] <= 8)).all()
    assert (sym[10:T + 9] == 0).all() and (sym[T + 9] == 9).all() and (sym[T + 10:] == 0).all()
    assert (b.target[:T + 10] == 0).all() and (b.target[T + 10:] == sym[:10]).all()
    # the memoryless predictor: certain blank for T + 10 steps, uniform over a1..a8 for the last 10
    logits = np.full((T + 20, n, 9), -np.inf)
    logits[:T + 10, :, 0] = 0
    logits[T + 10:, :, 1:] = 0
    logp = np.where(np.isinf(logits), -np.inf, logits - np.log(np.exp(logits).sum(2, keepdims=True)))
    memoryless = -np.take_along_axis(logp, b.target[..., None], 2).mean()
    assert memoryless == pytest.approx(10 * math.log(8) / (T + 20))
    assert t.baseline_loss == pytest.approx(10 * math.log(8) / (T + 20))
    assert t.metrics(np.eye(9)[b.target], b)["accuracy"] == 1.0


def test_timing_spikes_and_baseline():
    T, n = 40, 20_000
    t = task(task="timing", seq_len=T)
    b = t.batch(np.random.default_rng(4), n)
    assert b.x.shape == (T, n, 1) and (b.x.sum(0) == 2).all()
    spikes = np.sort(np.nonzero(b.x[:, :, 0].T)[1].reshape(n, 2), axis=1)
    d = spikes[:, 1] - spikes[:, 0]
    D = T // 2
    assert d.min() == 1 and d.max() == D and spikes[:, 0].max() == D - 1
    np.testing.assert_allclose(b.target[:, 0], d / D)
    sq = (b.target - b.target.mean()) ** 2
    assert abs(sq.mean() - t.baseline_loss) < 4 * sq.std() / math.sqrt(n)
    assert t.metrics(b.target + 0.4 / D, b)["accuracy"] == 1.0


def test_mackey_glass_satisfies_its_delay_equation():
    from rnnbench.tasks.series import mackey_glass
    y, _ = mackey_glass()
    # sampled once per time unit: central difference vs the right-hand side, tau = 17 units back
    t = np.arange(20, 200)
    slope = (y[t + 1] - y[t - 1]) / 2
    rhs = 0.2 * y[t - 17] / (1 + y[t - 17] ** 10) - 0.1 * y[t]
    assert np.abs(slope - rhs).max() < 0.02 and 0.2 < y.min() and y.max() < 1.5


def test_narma10_recursion():
    from rnnbench.tasks.series import narma10
    y, u = narma10()
    t = np.arange(10, len(y) - 1)
    window = np.stack([y[t - i] for i in range(10)]).sum(0)
    np.testing.assert_allclose(y[t + 1], 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * u[t - 9] * u[t] + 0.1)


def test_sunspots_csv():
    from rnnbench.tasks.series import sunspots
    y, _ = sunspots()
    assert len(y) == 309 and y[0] == 5 and y[-1] == 2.9 and y.min() >= 0


@pytest.mark.parametrize("series", ["mackey_glass", "narma10", "sunspots"])
def test_forecasting_windows_split_and_persistence(series):
    T, h = 30, 5
    t = task(task="forecasting", series=series, seq_len=T, horizon=h)
    b = t.batch(np.random.default_rng(5), 64)
    assert b.x.shape == (T, 64, t.input_size) and b.target.shape == (64, h)
    n_train = int(len(t.data) * 0.8)
    # training windows: targets inside the first 80%; test windows: targets inside the last 20%
    assert t.train_starts.max() + T + h <= n_train and t.test_starts.min() + T >= n_train
    test = t.test_set(None, 10_000)
    s = t.test_starts[3]
    np.testing.assert_array_equal(test.x[:, 3], t.data[s:s + T])
    np.testing.assert_array_equal(test.target[3], t.data[s + T:s + T + h, 0])
    persist = np.repeat(test.x[-1, :, :1], h, axis=1)
    assert t.baseline_loss == pytest.approx(np.mean((persist - test.target) ** 2))
    m = t.metrics(persist, test)
    assert m["nrmse_1"] == pytest.approx(m["persistence_1"]) and m["nrmse_multi"] == pytest.approx(
        m["persistence_multi"])
    assert m["persistence_1"] == pytest.approx(np.sqrt(np.mean((persist[:, 0] - test.target[:, 0]) ** 2))
                                               / test.target[:, 0].std())
    assert t.metrics(test.target, test)["nrmse_1"] == 0


def test_seeded_generators_repeat():
    for name in ("adding", "copy", "timing", "forecasting"):
        t = task(task=name, seq_len=12)
        a, b = t.batch(np.random.default_rng(7), 4), t.batch(np.random.default_rng(7), 4)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.target, b.target)


@pytest.mark.parametrize("raw, words", [
    ({"task": "adding", "seq_len": 1}, "seq_len"),
    ({"task": "timing", "seq_len": 3}, "seq_len"),
    ({"task": "adding", "adding_variant": "hochreiter", "seq_len": 21}, "seq_len"),
    ({"task": "forecasting", "series": "sunspots", "seq_len": 240}, "too short"),
    ({"task": "copy", "series": "narma10"}, "series"),
])
def test_task_options_checked(raw, words):
    with pytest.raises(InputError, match=words):
        normalize(raw)

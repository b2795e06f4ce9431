import random

import numpy as np
import pytest
import torch

from geodl.datasets.sequences import (
    TIMESERIES,
    SequenceSplit,
    load_mnist1d,
    load_timeseries,
    sliding_windows,
)


def test_mnist1d_is_the_published_set():
    x, y, xt, yt = split = load_mnist1d()
    assert isinstance(split, SequenceSplit)
    assert x.shape == (4000, 40) and xt.shape == (1000, 40)
    assert x.dtype == torch.float32 and y.dtype == torch.long
    # ten balanced classes overall; the whole set is standardised
    counts = torch.cat([y, yt]).bincount()
    assert counts.tolist() == [500] * 10
    whole = torch.cat([x, xt]).double()
    assert abs(whole.mean().item()) < 1e-6 and abs(whole.std(unbiased=False).item() - 1) < 1e-6
    # the oracle: the package's own generator with the published arguments
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()
    data = make_dataset(get_dataset_args())
    np.random.set_state(state)
    assert torch.equal(x.double(), torch.from_numpy(data["x"]).float().double())
    assert torch.equal(yt, torch.from_numpy(data["y_test"]).long())


def test_mnist1d_keeps_global_rng_and_returns_fresh_tensors():
    random.seed(3)
    np.random.seed(3)
    expected = (random.random(), np.random.rand())
    random.seed(3)
    np.random.seed(3)
    a = load_mnist1d(seed=7, num_samples=100, dtype=torch.float64)
    assert (random.random(), np.random.rand()) == expected
    a.x_train.zero_()  # the cache must not hand out the same storage twice
    b = load_mnist1d(seed=7, num_samples=100, dtype=torch.float64)
    assert b.x_train.abs().sum() > 0 and b.x_train.shape == (80, 40)
    assert not torch.equal(load_mnist1d(seed=8, num_samples=100).x_train, b.x_train.float())


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_samples=105), "num_samples=105"),
    (dict(train_split=1.0), "train_split=1.0"),
    (dict(seed=-1), "seed"),
])
def test_mnist1d_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_mnist1d(**kwargs)


@pytest.mark.parametrize("name, length", [("sunspots", 309), ("co2", 2284), ("nile", 100),
                                          ("elnino", 732)])
def test_timeseries(name, length):
    s = load_timeseries(name)
    assert name in TIMESERIES
    assert s.shape == (length,) and s.dtype == torch.float32
    assert torch.isfinite(s).all()


def test_timeseries_values():
    import statsmodels.api as sm

    nile = load_timeseries("nile", dtype=torch.float64)
    assert nile[:2].tolist() == [1120.0, 1160.0]
    elnino = sm.datasets.elnino.load_pandas().data
    s = load_timeseries("elnino", dtype=torch.float64)
    assert s[12] == elnino.loc[1, "JAN"] and s[13] == elnino.loc[1, "FEB"]
    co2 = load_timeseries("co2", dtype=torch.float64)
    raw = sm.datasets.co2.load_pandas().data["co2"].to_numpy()
    known = ~np.isnan(raw)
    assert np.array_equal(co2.numpy()[known], raw[known])


def test_timeseries_bad_name():
    with pytest.raises(ValueError, match="name='airline'.*'sunspots'"):
        load_timeseries("airline")


@pytest.mark.parametrize("multivariate", [False, True])
def test_sliding_windows_chronological(multivariate):
    t = torch.arange(50, dtype=torch.float64)
    series = torch.stack([t, -t], dim=1) if multivariate else t
    x, y, xt, yt = sliding_windows(series, window=5, horizon=3, test_fraction=0.2)
    c = 2 if multivariate else 1
    assert x.shape[1:] == (5, c) and xt.shape[1:] == (5, c)
    assert y.shape[1:] == ((3, 2) if multivariate else (3,))
    x0, y0 = x[..., 0], (y[..., 0] if multivariate else y)
    xt0, yt0 = xt[..., 0], (yt[..., 0] if multivariate else yt)
    # every pair is consecutive steps: inputs then targets
    assert torch.equal(torch.cat([x0, y0], 1) - x0[:, :1], torch.arange(8.0).expand(len(x0), 8))
    assert torch.equal(torch.cat([xt0, yt0], 1) - xt0[:, :1],
                       torch.arange(8.0).expand(len(xt0), 8))
    split = 40
    assert y0.max() == split - 1 and yt0.min() == split and yt0.max() == 49
    assert len(x) == split - 8 + 1 and len(xt) == 50 - split - 3 + 1


def test_sliding_windows_bad_arguments():
    with pytest.raises(ValueError, match="too short"):
        sliding_windows(torch.arange(10.0), window=8)
    with pytest.raises(ValueError, match="window must be"):
        sliding_windows(torch.arange(10.0), window=0)
    with pytest.raises(ValueError, match="series must be"):
        sliding_windows(torch.zeros(2, 3, 4), window=1)
    with pytest.raises(ValueError, match="test_fraction=0"):
        sliding_windows(torch.arange(10.0), window=2, test_fraction=0)

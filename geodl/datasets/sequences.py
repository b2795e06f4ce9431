"""Sequence data: MNIST-1D and classic time series, as batch-first tensors.

A batch of sequences ``seq`` of shape ``(B, T, C)`` is a batch of path graphs
(:func:`geodl.graph.path_graph`) with node features ``seq.reshape(-1, C)``; the recurrent layers
of :mod:`geodl.nn.recurrent` take it either way.

- :func:`load_mnist1d`: MNIST-1D (Greydanus & Kobak 2020, https://arxiv.org/abs/2011.14439),
  regenerated locally by the ``mnist1d`` package with the published arguments: 4000 training
  and 1000 test signals of length 40, ten classes (published test accuracy: logistic regression
  ~32%, MLP ~68%, CNN ~94%, GRU ~91%).
- :func:`load_timeseries`: the ``sunspots``, ``co2``, ``nile`` and ``elnino`` series shipped
  with statsmodels (no download).
- :func:`sliding_windows`: ``(window -> horizon)`` forecasting pairs with a chronological split.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from geodl.graph.validation import check_option, check_positive_int

__all__ = ["SequenceSplit", "load_mnist1d", "load_timeseries", "sliding_windows", "TIMESERIES"]

TIMESERIES = ("sunspots", "co2", "nile", "elnino")


class SequenceSplit(NamedTuple):
    """Train and test tensors; unpack as ``x_train, y_train, x_test, y_test = split``."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


@lru_cache(maxsize=4)
def _mnist1d_arrays(seed: int, num_samples: int, train_split: float, shuffle_seq: bool):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed, args.num_samples = seed, num_samples
    args.train_split, args.shuffle_seq = train_split, shuffle_seq
    # make_dataset seeds the global `random` and `numpy` generators: keep the caller's state
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return data["x"], data["y"], data["x_test"], data["y_test"]


def load_mnist1d(seed: int = 42, *, num_samples: int = 5000, train_split: float = 0.8,
                 shuffle_seq: bool = False, dtype: torch.dtype = torch.float32) -> SequenceSplit:
    """MNIST-1D, generated locally with ``mnist1d.make_dataset(get_dataset_args())``.

    The defaults are the published dataset arguments (``seed=42``, 5000 signals, 80% for
    training): 4000 training and 1000 test signals of length 40, ten balanced classes, the whole
    set standardised to mean 0 and standard deviation 1. Nothing is downloaded
    (``mnist1d.get_dataset`` would fetch a pickle); the global ``random``/``numpy`` states the
    generator reseeds are restored, and results are cached per argument set.

    Args:
        seed: the generator's seed (42 = the published set).
        num_samples: total number of signals, train + test (a multiple of 10).
        train_split: fraction of the signals used for training (the first ones, after the
            generator's shuffle).
        shuffle_seq: permute the time steps (the same permutation for every signal): the
            "shuffled" control of the paper, which removes the spatial prior.
        dtype: floating dtype of the signals.

    Returns:
        :class:`SequenceSplit` ``(x_train, y_train, x_test, y_test)``; ``x`` has shape
        ``(N, 40)`` (``x.unsqueeze(-1)`` is a batch-first sequence ``(N, 40, 1)``, ``x.view(-1,
        1)`` the node features of ``path_graph(40, batch_size=N)``), ``y`` is ``(N,)`` long in
        ``0..9``.

    >>> x_train, y_train, x_test, y_test = load_mnist1d()
    >>> tuple(x_train.shape), tuple(x_test.shape), int(y_train.max())
    ((4000, 40), (1000, 40), 9)
    """
    check_positive_int(seed, "seed", minimum=0)
    if check_positive_int(num_samples, "num_samples") % 10:
        raise ValueError(f"num_samples={num_samples} must be a multiple of 10 (one equal share "
                         "per class); e.g. num_samples=5000.")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split={train_split!r} must lie strictly between 0 and 1, "
                         "e.g. 0.8.")
    x, y, xt, yt = _mnist1d_arrays(int(seed), int(num_samples), float(train_split),
                                   bool(shuffle_seq))
    return SequenceSplit(torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=torch.long),
                         torch.tensor(xt, dtype=dtype), torch.tensor(yt, dtype=torch.long))


def load_timeseries(name: Literal["sunspots", "co2", "nile", "elnino"], *,
                    dtype: torch.dtype = torch.float32) -> Tensor:
    """A univariate time series from ``statsmodels.datasets`` as a ``(T,)`` tensor, in time order.

    - ``"sunspots"``: yearly mean sunspot number, 1700-2008 (T = 309).
    - ``"co2"``: weekly atmospheric CO2 at Mauna Loa in ppm, 1958-2001 (T = 2284); the 59
      missing weeks are filled by linear interpolation in time.
    - ``"nile"``: yearly flow volume of the Nile at Aswan, 1871-1970 (T = 100).
    - ``"elnino"``: monthly sea surface temperature (El Nino region), 1950-2010, the table's
      year rows read month by month (T = 732).

    Args:
        name: one of ``"sunspots"``, ``"co2"``, ``"nile"``, ``"elnino"``.
        dtype: floating dtype of the result.

    >>> load_timeseries("nile").shape
    torch.Size([100])
    """
    check_option(name, TIMESERIES, "name")
    import statsmodels.api as sm

    frame = getattr(sm.datasets, name).load_pandas().data
    if name == "sunspots":
        values = frame["SUNACTIVITY"].to_numpy()
    elif name == "co2":
        values = frame["co2"].interpolate(method="time").to_numpy()
    elif name == "nile":
        values = frame["volume"].to_numpy()
    else:  # elnino: one row per year, one column per month
        values = frame.drop(columns="YEAR").to_numpy().reshape(-1)  # (years * 12,)
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=dtype)


def sliding_windows(series: Tensor, window: int, horizon: int = 1, *,
                    test_fraction: float = 0.2) -> SequenceSplit:
    """Forecasting pairs (``window`` past steps -> the next ``horizon`` steps), split in time.

    The series is cut at ``split = int(T * (1 - test_fraction))``. A training pair has all its
    targets before ``split``; a test pair has all its targets at or after ``split`` (its input
    window may reach back into the training period, as a forecaster's would). No target is in
    both sets, and every test target comes later than every training target.

    Args:
        series: ``(T,)`` univariate or ``(T, C)`` multivariate series, in time order.
        window: number of input steps.
        horizon: number of steps to predict.
        test_fraction: fraction of the series (its end) whose values are test targets.

    Returns:
        :class:`SequenceSplit`; ``x`` is ``(N, window, C)`` (``C = 1`` for a 1-D series), ``y``
        is ``(N, horizon)`` for a 1-D series and ``(N, horizon, C)`` otherwise.

    >>> x_train, y_train, x_test, y_test = sliding_windows(torch.arange(10.0), 3, test_fraction=0.3)
    >>> x_train[-1].view(-1).tolist(), y_train[-1].tolist(), x_test[0].view(-1).tolist()
    ([3.0, 4.0, 5.0], [6.0], [4.0, 5.0, 6.0])
    """
    if not isinstance(series, Tensor) or series.dim() not in (1, 2):
        raise ValueError(f"series must be a (T,) or (T, C) tensor, got "
                         f"{tuple(series.shape) if isinstance(series, Tensor) else type(series)}.")
    window = check_positive_int(window, "window")
    horizon = check_positive_int(horizon, "horizon")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction!r} must lie strictly between 0 and 1.")
    univariate = series.dim() == 1
    s = series.unsqueeze(-1) if univariate else series  # (T, C)
    split = int(s.size(0) * (1 - test_fraction))
    if split < window + horizon or s.size(0) - split < horizon:
        raise ValueError(f"series of length {s.size(0)} is too short for window={window}, "
                         f"horizon={horizon} and test_fraction={test_fraction}: each side of "
                         f"the split (at step {split}) needs at least one pair.")
    pairs = s.unfold(0, window + horizon, 1).transpose(1, 2)  # (T - w - h + 1, w + h, C)
    x, y = pairs[:, :window], pairs[:, window:]  # (N, w, C), (N, h, C)
    start = torch.arange(pairs.size(0))  # pair i covers steps [i, i + w + h)
    train = start + window + horizon <= split
    test = start + window >= split
    if univariate:
        y = y.squeeze(-1)  # (N, h)
    return SequenceSplit(x[train].contiguous(), y[train].contiguous(),
                         x[test].contiguous(), y[test].contiguous())

"""Trials on tensor datasets: images (grid graphs) and sequences (path graphs).

The geodl model and the same model written directly in torch (:mod:`geodl.bench.twins`) are
trained by :func:`geodl.tasks.fit` on a :class:`TensorClassification` task: same batches (fit
seeds the shuffling per epoch), same initial weights, Adam. The validation set is the last
10% of the training set; accuracy is on the test set.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.bench.experiments import Outcome, outcome, train_model
from geodl.tasks.tensor import TensorClassification

__all__ = ["fashion_cnn", "mnist1d_gru", "load_images", "load_digits_images"]

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set statistics


class GenericPath(nn.Module):
    """A geodl model called with ``fast=False``: every layer takes its generic
    message-passing path (the same parameters, so the same initial weights)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x, fast=False)


def _holdout(x: Tensor, y: Tensor, fraction: float = 0.1):
    cut = len(x) - int(len(x) * fraction)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


@functools.lru_cache(maxsize=2)
def load_images(root: str | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fashion-MNIST standardised: ``(x_train (60000, 1, 28, 28), y_train, x_test, y_test)``,
    from ``root`` or, failing that, the loader's default places (``/usr/share/datasets``)."""
    from geodl.datasets.images import load_fashion_mnist

    try:
        train = load_fashion_mnist(root=root, split="train")
    except FileNotFoundError:
        if root is None:
            raise
        root = None  # also look where the loader looks by default (the Debian package)
        train = load_fashion_mnist(split="train")
    test = load_fashion_mnist(root=root, split="test")

    def norm(images: Tensor) -> Tensor:
        return ((images.float() / 255 - MEAN) / STD).unsqueeze(1)  # (N, 1, 28, 28)
    return norm(train.images), train.labels, norm(test.images), test.labels


@functools.lru_cache(maxsize=1)
def load_digits_images(root: str | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """scikit-learn's 8 x 8 handwritten digits (1797 images; the data ships inside
    scikit-learn, so nothing to download or install): ``(x_train (1437, 1, 8, 8), y_train,
    x_test (360, 1, 8, 8), y_test)``, the first 80% for training, standardised with the
    training statistics. ``root`` is ignored."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)  # (1797, 8, 8), values 0..16
    y = torch.tensor(digits.target, dtype=torch.long)
    cut = 1437
    x = ((x - x[:cut].mean()) / x[:cut].std()).unsqueeze(1)  # (1797, 1, 8, 8)
    return x[:cut], y[:cut], x[cut:], y[cut:]


IMAGE_SETS = {"fashion-mnist": load_images, "digits": load_digits_images}


def fashion_cnn(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """geodl's CNN (grid convolutions) on the first ``config["train_size"]`` images and
    ``config["test_size"]`` test images of ``config["dataset"]`` (default Fashion-MNIST; or
    ``"digits"``); ``impl="torch"``: the same network from ``nn.Conv2d`` layers
    (:func:`~geodl.bench.twins.torch_cnn`); ``impl="generic"``: geodl's CNN with every layer on
    its generic message-passing path (``fast=False``), same weights."""

    x, y, xt, yt = IMAGE_SETS[config.get("dataset", "fashion-mnist")](root)
    x, y = x[:config["train_size"]], y[:config["train_size"]]
    xt, yt = xt[:config["test_size"]], yt[:config["test_size"]]
    return _train_cnn(impl, seed, config, (x, y, xt, yt), image_size=tuple(x.shape[-2:]))


def _train_cnn(impl: str, seed: int, config: dict, data, **layout) -> Outcome:
    """geodl's CNN (``config`` channels, hidden, dropout; ``layout``: image size, kernel and
    pool sizes) from ``seed``, as ``impl``: ``"geodl"``, ``"torch"`` (the ``nn.Conv2d`` twin)
    or ``"generic"`` (``fast=False``), trained on ``data = (x, y, x_test, y_test)``."""
    from geodl.bench.twins import torch_cnn
    from geodl.models.cnn import CNN, CNNConfig

    x, y, xt, yt = data
    torch.manual_seed(seed)
    model = CNN(CNNConfig(in_channels=1, num_classes=10, channels=tuple(config["channels"]),
                          dropout=config["dropout"], hidden=config["hidden"], **layout))
    if impl == "torch":
        model = torch_cnn(model)
    elif impl == "generic":
        model = GenericPath(model)
    elif impl != "geodl":
        raise ValueError(f"impl={impl!r}; choose 'geodl', 'torch' or 'generic'.")
    task = TensorClassification(*_holdout(x, y), (xt, yt), batch_size=config["batch_size"])
    hist = train_model(model, task, seed, config["fit"])
    return outcome(model, task, hist, task.evaluate(model, "test"))


def mnist1d_gru(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """The MNIST-1D paper's bidirectional GRU (:class:`~geodl.bench.twins.GRUClassifier`),
    geodl's GRU on path graphs or ``nn.GRU`` (``impl="torch"``), on the published MNIST-1D
    (4000 training / 1000 test signals, generated locally; ``config["train_size"]``, if
    given, keeps the first signals only)."""
    from geodl.bench.twins import build_gru
    from geodl.datasets.sequences import load_mnist1d

    if impl not in ("geodl", "torch", "generic"):
        raise ValueError(f"impl={impl!r}; choose 'geodl', 'torch' or 'generic'.")
    x, y, xt, yt = load_mnist1d()
    x, y = x[:config.get("train_size")], y[:config.get("train_size")]  # None: all 4000
    model = build_gru(impl, seed, hidden=config["hidden"])
    task = TensorClassification(*_holdout(x, y), (xt, yt), batch_size=config["batch_size"])
    hist = train_model(model, task, seed, config["fit"])
    return outcome(model, task, hist, task.evaluate(model, "test"))


def mnist1d_cnn(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """geodl's CNN on MNIST-1D read as a ``1 x 40`` grid graph (kernels ``1 x 5``, pooling
    ``1 x 2``), or the same network from ``nn.Conv2d`` (``impl="torch"``), same weights and
    batches; ``impl="generic"``: its message-passing path."""
    from geodl.datasets.sequences import load_mnist1d

    x, y, xt, yt = load_mnist1d()
    x, xt = x.view(-1, 1, 1, 40), xt.view(-1, 1, 1, 40)  # (N, C=1, H=1, W=40)
    return _train_cnn(impl, seed, config, (x, y, xt, yt), image_size=(1, 40),
                      kernel_size=(1, 5), pool_size=(1, 2))


def forecast(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """One-step forecasting of a statsmodels series (``config["series"]``, e.g.
    ``"sunspots"``) from windows of ``config["window"]`` values: geodl's
    :class:`~geodl.models.rnn.Forecaster` (LSTM, ``config["hidden"]``), full-batch Adam, the
    epoch picked on the last 10% of the training windows (``impl="geodl"``), or the naive
    last-value forecast ``y_{t+1} = y_t`` (``impl="naive"``). RMSE and MAE on the last 20%
    of the series, in its units."""
    from geodl.datasets.sequences import load_timeseries, sliding_windows
    from geodl.models.rnn import Forecaster, RNNConfig

    series = load_timeseries(config["series"])
    x, y, xt, yt = sliding_windows(series, config["window"], 1, test_fraction=0.2)
    if impl == "naive":
        pred, params, hist = xt[:, -1], 0, None  # (N, 1): the last observed value
    elif impl == "geodl":
        split = int(series.numel() * 0.8)
        mean, std = series[:split].mean(), series[:split].std()  # training statistics only
        torch.manual_seed(seed)
        model = Forecaster(RNNConfig(1, config["hidden"], cell="lstm"), horizon=1)
        opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
        best, best_state, losses = float("inf"), None, []
        n_val = max(1, len(x) // 10)
        xs, ys = (x - mean) / std, (y - mean) / std
        for _ in range(config["epochs"]):
            model.train()
            loss = F.mse_loss(model(xs[:-n_val]), ys[:-n_val])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            model.eval()
            with torch.no_grad():
                val = F.mse_loss(model(xs[-n_val:]), ys[-n_val:]).item()
            if val < best:
                best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
        with torch.no_grad():
            pred = model((xt - mean) / std) * std + mean  # (N, 1) in the series' units
        params = sum(p.numel() for p in model.parameters())
        hist = {"train_loss": losses}
    else:
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'naive'.")
    err = pred - yt
    return Outcome({"test_rmse": err.pow(2).mean().sqrt().item(),
                    "test_mae": err.abs().mean().item()}, params=params, history=hist)

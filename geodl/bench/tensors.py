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

__all__ = ["TensorClassification", "fashion_cnn", "mnist1d_gru", "grid_conv_speed", "load_images",
           "load_digits_images"]

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set statistics


class TensorClassification:
    """Mini-batch classification on tensors ``x`` ``(N, ...)`` and labels ``y`` ``(N,)``.

    Metrics: ``loss`` (cross-entropy), ``acc``. Monitors ``acc`` (max).
    """

    monitor, mode = "acc", "max"

    def __init__(self, train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor],
                 test: tuple[Tensor, Tensor], batch_size: int = 128):
        self.splits = {"train": train, "val": val, "test": test}
        self.batch_size = batch_size

    def has_split(self, split: str) -> bool:
        return len(self.splits[split][0]) > 0

    def train_batches(self):
        x, y = self.splits["train"]
        order = torch.randperm(len(x))  # torch's global RNG, seeded per epoch by fit
        for i in range(0, len(x), self.batch_size):
            idx = order[i:i + self.batch_size]
            yield x[idx], y[idx]

    def train_step(self, model: nn.Module, batch) -> Tensor:
        x, y = batch
        return F.cross_entropy(model(x), y)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        x, y = self.splits[split]
        out = torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)])  # (N, C)
        return {"loss": float(F.cross_entropy(out, y)),
                "acc": float((out.argmax(1) == y).double().mean())}


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
    (:func:`~geodl.bench.twins.torch_cnn`)."""
    from geodl.bench.twins import torch_cnn
    from geodl.models.cnn import CNN, CNNConfig

    x, y, xt, yt = IMAGE_SETS[config.get("dataset", "fashion-mnist")](root)
    x, y = x[:config["train_size"]], y[:config["train_size"]]
    xt, yt = xt[:config["test_size"]], yt[:config["test_size"]]
    torch.manual_seed(seed)
    model = CNN(CNNConfig(in_channels=1, num_classes=10, channels=tuple(config["channels"]),
                          dropout=config["dropout"], hidden=config["hidden"],
                          image_size=tuple(x.shape[-2:])))
    if impl == "torch":
        model = torch_cnn(model)
    elif impl != "geodl":
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'torch'.")
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

    if impl not in ("geodl", "torch"):
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'torch'.")
    x, y, xt, yt = load_mnist1d()
    x, y = x[:config.get("train_size")], y[:config.get("train_size")]  # None: all 4000
    model = build_gru(impl, seed, hidden=config["hidden"])
    task = TensorClassification(*_holdout(x, y), (xt, yt), batch_size=config["batch_size"])
    hist = train_model(model, task, seed, config["fit"])
    return outcome(model, task, hist, task.evaluate(model, "test"))


def grid_conv_speed(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Median milliseconds of a ``k x k`` convolution forward + backward (input and weight
    gradients) on ``B x C x H x W`` images: ``impl="geodl"``: :class:`~geodl.nn.grid_conv
    .GridConv`'s fast path on ``grid_graph(H, W, batch_size=B)``; ``"torch"``: ``F.conv2d`` on
    an NCHW batch, same weights. ``max_abs_diff``: against geodl's generic message-passing
    path (``fast=False``) for geodl, against geodl's fast path for torch."""
    import time

    from geodl.graph import grid_graph
    from geodl.nn.grid_conv import GridConv

    b, c, k = config["batch"], config["channels"], config["kernel_size"]
    h = w = config["size"]
    gen = torch.Generator().manual_seed(seed)
    img = torch.randn(b, c, h, w, generator=gen).requires_grad_()  # (B, C, H, W)
    x = img.detach().permute(0, 2, 3, 1).reshape(-1, c).requires_grad_()  # (B*H*W, C)
    g = grid_graph(h, w, batch_size=b)
    torch.manual_seed(seed)
    conv = GridConv(c, c, k)
    if impl == "geodl":
        def forward():
            return conv(x, g)[0]  # (B*H*W, C)
        inputs = x
    elif impl == "torch":
        def forward():
            out = F.conv2d(img, conv.weight, conv.bias, padding=k // 2)  # (B, C, H, W)
            return out.permute(0, 2, 3, 1).reshape(-1, c)  # (B*H*W, C)
        inputs = img
    else:
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'torch'.")
    times = []
    for _ in range(1 + config["repeats"]):  # the first call warms up
        inputs.grad = None
        conv.zero_grad(set_to_none=True)
        tic = time.perf_counter()
        forward().sum().backward()
        times.append(time.perf_counter() - tic)
    with torch.no_grad():
        fast = conv(x, g)[0]
        ref = conv(x, g, fast=False)[0] if impl == "geodl" else forward()
    times = sorted(times[1:])
    return Outcome({"ms": 1e3 * times[len(times) // 2],
                    "max_abs_diff": (fast - ref).abs().max().item()},
                   params=sum(p.numel() for p in conv.parameters()), train_time=sum(times))

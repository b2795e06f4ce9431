"""The ``diffusion`` suite: a class-conditional DDPM on Fashion-MNIST, geodl's grid-graph
:class:`~geodl.models.Denoiser` next to its plain-torch twin
(:class:`~geodl.bench.denoiser_twin.TorchDenoiser`, the same initial weights) and diffusers'
``UNet2DModel`` of about the same parameter count (its own initialisation).

One trial trains one implementation on :class:`~geodl.tasks.DiffusionTask` (the same
schedule, images, batches, timesteps and noise for every implementation: fit seeds each
epoch), then with the EMA weights: DDIM samples with and without classifier-free guidance
(a balanced set of labels), a shorter set of full-chain DDPM samples, an interpolation strip.
Metrics: the Frechet distance in a Fashion-MNIST CNN classifier's feature space
(:func:`~geodl.tasks.frechet_distance`; the classifier is trained once per process and shared
by all implementations; ``fd_floor`` is real test images against as many training images),
that classifier's accuracy on the conditional samples (``acc_cond`` at guidance 1,
``acc_guided`` at ``guidance``), the test noise-prediction loss per timestep bucket, the
median milliseconds of a training step (forward, backward, Adam) and of sampling per image.
Sample grids and strips are written as PNGs to ``config["images"]`` (default ``<out>/diffusion``,
next to the suite's report; ``--out`` of ``geodl bench run``).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.bench.experiments import Outcome
from geodl.bench.store import artifact_dir
from geodl.bench.suites import Experiment, Suite, register
from geodl.bench.tensors import MEAN, STD, load_images
from geodl.bench.timing import interleaved

__all__ = ["diffusion_trial", "denoiser_speed", "DiffusersAdapter", "DIFFUSION", "SPEED"]

DIFFUSION = {
    "train_size": 20_000, "test_size": 10_000, "schedule": "cosine", "timesteps": 1000,
    "channels": [32, 64, 64], "peer_channels": [32, 48, 56], "attention_levels": [2],
    "groups": 8, "heads": 4, "label_dropout": 0.1, "batch_size": 128, "lr": 1e-3,
    "ema_decay": 0.995, "epochs": 8, "samples": 10_000, "ddim_steps": 50,
    "ddpm_samples": 1_000,
    "guidance": 3.0, "classifier": {"train_size": 60_000, "epochs": 3},
    "images": None,
}
QUICK = {"train_size": 1024, "test_size": 100, "channels": [16, 32, 32],
         "peer_channels": [16, 32, 24], "batch_size": 64, "epochs": 2, "ema_decay": 0.9,
         "samples": 60, "ddim_steps": 10, "ddpm_samples": 0,
         "classifier": {"train_size": 3_000, "epochs": 1}}
_NET = ("channels", "peer_channels", "attention_levels", "groups", "heads", "label_dropout",
        "timesteps", "schedule")
SPEED = {**{k: DIFFUSION[k] for k in _NET}, "batch": 64, "ddim_steps": 10, "repeats": 5}
SPEED_QUICK = {**{k: QUICK[k] for k in _NET if k in QUICK}, "batch": 32, "repeats": 3}


class DiffusersAdapter(nn.Module):
    """diffusers' ``UNet2DModel`` called as ``model(x_t, t, labels)``, with the same label
    dropout as geodl's Denoiser (null label = ``num_classes``)."""

    def __init__(self, channels, num_classes: int, label_dropout: float, groups: int,
                 heads: int, size: int = 32):
        super().__init__()
        from diffusers import UNet2DModel

        self.num_classes, self.label_dropout = num_classes, label_dropout
        self.unet = UNet2DModel(
            sample_size=size, in_channels=1, out_channels=1, layers_per_block=1,
            block_out_channels=tuple(channels), norm_num_groups=groups,
            down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
            num_class_embeds=num_classes + 1, attention_head_dim=channels[-1] // heads)

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            labels = torch.full_like(t, self.num_classes)
        if self.training and self.label_dropout > 0:
            drop = torch.rand(labels.shape, device=labels.device) < self.label_dropout
            labels = labels.masked_fill(drop, self.num_classes)
        return self.unet(x, t, class_labels=labels).sample


def _to_unit(images: Tensor) -> Tensor:
    """Padded ``[-1, 1]`` images ``(B, 1, 32, 32)`` back to the classifier's ``[0, 1]``
    28 x 28."""
    return ((images[:, :, 2:30, 2:30] + 1) / 2).clamp(0, 1)


@functools.lru_cache(maxsize=2)
def _data(root: str | None, train_size: int, test_size: int):
    """Fashion-MNIST in ``[-1, 1]`` padded to 32 x 32 (with -1, the background)."""
    x, y, xt, yt = load_images(root)

    def scale(z: Tensor) -> Tensor:
        return F.pad((z * STD + MEAN) * 2 - 1, (2, 2, 2, 2), value=-1.0)  # (N, 1, 32, 32)
    return scale(x[:train_size]), y[:train_size], scale(xt[:test_size]), yt[:test_size]


@functools.lru_cache(maxsize=2)
def _classifier(root: str | None, train_size: int, epochs: int):
    from geodl.tasks.image_quality import train_feature_classifier

    x, y, _, _ = load_images(root)
    return train_feature_classifier(x[:train_size] * STD + MEAN, y[:train_size], epochs=epochs)


def _build(impl: str, seed: int, c: dict) -> nn.Module:
    from geodl.bench.denoiser_twin import TorchDenoiser
    from geodl.models.denoiser import Denoiser, DenoiserConfig

    cfg = DenoiserConfig(channels=tuple(c["channels"]), attention_levels=tuple(
        c["attention_levels"]), num_heads=c["heads"], groups=c["groups"],
        num_timesteps=c["timesteps"], num_classes=10, label_dropout=c["label_dropout"])
    torch.manual_seed(seed)
    if impl == "diffusers":
        return DiffusersAdapter(c["peer_channels"], 10, c["label_dropout"], c["groups"],
                                c["heads"])
    model = Denoiser(cfg)
    if impl == "geodl":
        return model
    if impl != "torch":
        raise ValueError(f"impl={impl!r}; choose 'geodl', 'torch' or 'diffusers'.")
    twin = TorchDenoiser(cfg)
    twin.load_state_dict(model.state_dict())  # the same initial weights
    return twin


def _median_ms(fn, repeats: int) -> float:
    """Median ms of ``repeats`` calls after one warm-up, by the one bench timer."""
    return 1e3 * interleaved({"fn": fn}, rounds=repeats)["fn"].median


def _sample(model, sched, n: int, seed: int, guidance: float | None, batch: int = 250):
    from geodl.diffusion import sample

    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, 1, 32, 32, generator=gen)
    labels = torch.arange(n) % 10  # a balanced set of classes
    out = [sample(model, sched, noise[i:i + batch], labels=labels[i:i + batch],
                  guidance_scale=guidance, null_label=10, generator=gen)
           for i in range(0, n, batch)]
    return torch.cat(out), labels


def diffusion_trial(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Train and score one implementation (module docstring)."""
    from geodl.diffusion import DDIMScheduler, DDPMScheduler, interpolate
    from geodl.tasks import (
        DiffusionTask,
        bucket_losses,
        classifier_accuracy,
        classifier_features,
        fit,
        frechet_distance,
    )
    from geodl.viz.images import save_image_grid, save_interpolation_strip

    c = config
    x, y, xt, yt = _data(root, c["train_size"], c["test_size"])
    model = _build(impl, seed, c)
    sched = DDPMScheduler(c["schedule"], c["timesteps"])
    task = DiffusionTask(x, sched, y, batch_size=c["batch_size"], lr=c["lr"],
                         ema_decay=c["ema_decay"])
    hist = fit(model, task, epochs=c["epochs"], seed=seed, progress=False, restore_best=False)
    ema = task.ema_model()
    metrics = {f"test_{k}": v for k, v in bucket_losses(ema, sched, xt, yt, 10, seed).items()}

    ddim = DDIMScheduler(c["schedule"], c["timesteps"])
    ddim.set_timesteps(c["ddim_steps"])
    clf = _classifier(root, c["classifier"]["train_size"], c["classifier"]["epochs"])

    def features(images):
        return classifier_features(clf, images)

    real = _to_unit(xt)
    tic = time.perf_counter()
    cond, labels = _sample(ema, ddim, c["samples"], seed, None)
    metrics["sample_ms_per_image"] = 1e3 * (time.perf_counter() - tic) / c["samples"]
    guided, _ = _sample(ema, ddim, c["samples"], seed, c["guidance"])
    metrics["fd_ddim"] = frechet_distance(real, _to_unit(cond), features)
    metrics["fd_ddim_guided"] = frechet_distance(real, _to_unit(guided), features)
    train_real = _to_unit(x[-len(xt):])
    metrics["fd_floor"] = frechet_distance(real, train_real, features)
    metrics["acc_cond"] = classifier_accuracy(clf, _to_unit(cond), labels)
    metrics["acc_guided"] = classifier_accuracy(clf, _to_unit(guided), labels)
    n = c["ddpm_samples"]
    if n:
        ddpm, _ = _sample(ema, sched, n, seed, None)
        metrics["fd_ddpm"] = frechet_distance(real, _to_unit(ddpm), features)
        metrics["fd_ddim_same_n"] = frechet_distance(real, _to_unit(cond[:n]), features)
    out = Path(c["images"]) if c.get("images") else artifact_dir("diffusion")
    save_image_grid(cond[:100], out / f"{impl}-seed{seed}-ddim.png", ncol=10,
                    value_range=(-1, 1))
    save_image_grid(guided[:100], out / f"{impl}-seed{seed}-guided.png", ncol=10,
                    value_range=(-1, 1))
    gen = torch.Generator().manual_seed(seed + 1)
    z = torch.randn(4, 1, 32, 32, generator=gen)
    strips = torch.stack([interpolate(ema, ddim, z[2 * i], z[2 * i + 1], 8, label=i)
                          for i in range(2)])  # (2, 8, 1, 32, 32)
    save_interpolation_strip(strips, out / f"{impl}-seed{seed}-interpolation.png",
                             value_range=(-1, 1))
    metrics["epochs"] = float(hist.epochs)
    metrics["train_step_ms"] = 1e3 * sum(hist.time) / max(1, hist.epochs * len(
        task.train_batches()))
    return Outcome(metrics, params=sum(p.numel() for p in model.parameters()),
                   train_time=sum(hist.time), history=hist.to_dict())


def denoiser_speed(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Median milliseconds of a training step (forward, backward, Adam) on a ``batch`` of
    32 x 32 images and of a DDIM chain of ``ddim_steps`` per image. ``max_abs_diff``: geodl's
    output against its generic message-passing path; the twin's against geodl's (same
    weights); diffusers' has its own weights (none)."""
    from geodl.diffusion import DDIMScheduler

    c = config
    gen = torch.Generator().manual_seed(seed)
    b = c["batch"]
    x, t = torch.randn(b, 1, 32, 32, generator=gen), torch.randint(0, c["timesteps"], (b,),
                                                                    generator=gen)
    y = torch.randint(0, 10, (b,), generator=gen)
    model = _build(impl, seed, c).eval()  # eval: no label dropout, the same work every call
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad()
        F.mse_loss(model(x, t, y), x).backward()
        opt.step()

    metrics = {}
    if impl in ("geodl", "torch"):
        with torch.no_grad():
            ref = _build("geodl", seed, c).eval()
            out = model(x, t, y)
            other = ref(x, t, y, fast=False) if impl == "geodl" else ref(x, t, y)
            metrics["max_abs_diff"] = float((out - other).abs().max())
    metrics["step_ms"] = _median_ms(step, c["repeats"])
    ddim = DDIMScheduler(c["schedule"], c["timesteps"])
    ddim.set_timesteps(c["ddim_steps"])
    metrics["sample_ms_per_image"] = _median_ms(
        lambda: _sample(model, ddim, b, seed, None, batch=b), c["repeats"]) / b
    return Outcome(metrics, params=sum(p.numel() for p in model.parameters()))


def _load(root):
    return load_images(root)


register(Suite("diffusion", "a class-conditional DDPM (cosine schedule, T = 1000) on "
               "Fashion-MNIST padded to 32 x 32: geodl's grid-graph U-Net next to the same "
               "network in plain torch and diffusers' UNet2DModel; Frechet distance of DDIM-50 "
               "samples in a CNN classifier's feature space (lower is better; fd_floor = real "
               "vs real), conditional accuracy with and without guidance, step and sampling "
               "times (the full recipe, 10k samples, takes hours per implementation on 2 CPU "
               "cores; --quick is a smoke run). Samples and interpolation strips: PNGs under "
               "<out>/diffusion (--out, default geodl-bench)", (
    Experiment("Fashion-MNIST 32x32", "DDPM U-Net", diffusion_trial, DIFFUSION,
               impls=("geodl", "torch", "diffusers"), metric="fd_ddim", scale=1.0, unit="",
               higher_is_better=False, seeds=1, seconds=6 * 3600, quick=QUICK, quick_seeds=1,
               load=_load),
    *(Experiment("32x32 images", name, denoiser_speed, SPEED,
                 impls=("geodl", "torch", "diffusers"), metric=metric, scale=1.0, unit="ms",
                 higher_is_better=False, target=1.1, target_relative=True, seeds=3,
                 seconds=30, quick=SPEED_QUICK, quick_seeds=2)
      for name, metric in (("Denoiser train step", "step_ms"),
                           ("Denoiser DDIM-10 sampling per image", "sample_ms_per_image"))),
)))

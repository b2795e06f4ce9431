"""The ``generative`` suite: auto-encoders, VAEs and GANs on Fashion-MNIST next to their
plain-torch twins (:mod:`geodl.bench.generative_twins`), same initial weights, batches and
noise (one seed drives both: :func:`~geodl.tasks.fit` seeds every epoch).

Rows report, per model: reconstruction PSNR (AEs; denoising: of the clean image from the
corrupted one, beside the corrupted input's), the test negative ELBO and the IWAE estimate
of the NLL (VAEs, nats per image), the Frechet distance of generated images to the test
images in the feature space of a geodl CNN trained on Fashion-MNIST
(:func:`~geodl.tasks.frechet_distance`; not Inception's, so not "FID"), with the train-vs-test
distance as its floor, the classifier's accuracy on class-conditional samples, and seconds per
epoch. Speed rows time one training step (forward, backward, update) against the twin.
Sample grids and interpolation strips are written as PNGs to ``config["samples_dir"]``
(default ``<out>/generative/samples``, next to the suite's report; ``--out`` of ``geodl
bench run``).
"""

from __future__ import annotations

import copy
import functools
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from geodl.bench import tensors
from geodl.bench.experiments import Outcome, train_model
from geodl.bench.generative_twins import torch_twin
from geodl.bench.store import artifact_dir
from geodl.bench.suites import Experiment, Published, Suite, register
from geodl.bench.timing import OtherLoad, interleaved, paired, speed_outcome
from geodl.models import GAN, VAE, Autoencoder, Critic, Generator, count_parameters
from geodl.models.latent import interpolate_latents
from geodl.tasks import (
    AdversarialTask,
    ELBOTask,
    Reconstruction,
    classifier_accuracy,
    classifier_features,
    frechet_distance,
    iwae_nll,
    negative_elbo,
    train_feature_classifier,
)

__all__ = ["generative_trial", "generative_step_speed", "load_unit_images"]

PYTORCH_VAE = ("PyTorch examples' MNIST VAE (784-400-20, BCE, Adam 1e-3, batch 128, 10 epochs): "
               "104-107 nats on MNIST, not Fashion-MNIST")


@functools.lru_cache(maxsize=1)
def load_unit_images(root: str | None = None):
    """Fashion-MNIST in ``[0, 1]``: ``(x_train (60000, 1, 28, 28), y_train, x_test, y_test)``."""
    x, y, xt, yt = tensors.load_images(root)
    return ((x * tensors.STD + tensors.MEAN).clamp(0, 1), y,
            (xt * tensors.STD + tensors.MEAN).clamp(0, 1), yt)


@functools.lru_cache(maxsize=2)
def _classifier(root: str | None, train_size: int, epochs: int):
    x, y, _, _ = load_unit_images(root)
    return train_feature_classifier(x[:train_size], y[:train_size], epochs=epochs, seed=0)


def _build(config: dict) -> torch.nn.Module:
    m, classes = config["model"], 10 if config.get("conditional") else 0
    if m == "ae":
        return Autoencoder(kind=config["kind"], latent=config["latent"],
                           channels=tuple(config.get("channels", (32, 64))),
                           hidden=tuple(config.get("hidden", (400,))))
    if m == "vae":
        return VAE(kind=config["kind"], latent=config["latent"], num_classes=classes,
                   channels=tuple(config.get("channels", (32, 64))),
                   hidden=tuple(config.get("hidden", (400,))))
    return GAN(Generator(config["latent"], channels=tuple(config["g_channels"]),
                         num_classes=classes),
               Critic(channels=tuple(config["c_channels"]), num_classes=classes))


def _task(config: dict, x, y, batch_size: int):
    common = dict(batch_size=batch_size, conditional=bool(config.get("conditional")))
    if config["model"] == "ae":
        return Reconstruction(x, y, corruption=config.get("corruption"),
                              level=config.get("level", 0.0), **common)
    if config["model"] == "vae":
        return ELBOTask(x, y, beta=config.get("beta", 1.0), **common)
    return AdversarialTask(x, y, loss=config["loss"], **common)


def _model_and_task(impl: str, seed: int, config: dict, root):
    if impl not in ("geodl", "torch"):
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'torch'.")
    x, y, xt, yt = load_unit_images(root)
    x, y = x[:config["train_size"]], y[:config["train_size"]]
    torch.manual_seed(seed)
    model = _build(config)
    if impl == "torch":
        model = torch_twin(model)
    return model, _task(config, x, y, config["batch_size"]), (xt[:config["test_size"]],
                                                              yt[:config["test_size"]])


def _write_pngs(config: dict, name: str, samples, strip) -> None:
    from geodl.viz.images import save_image_grid, save_interpolation_strip

    folder = Path(config.get("samples_dir") or artifact_dir("generative", "samples"))
    save_image_grid(samples[:64], folder / f"{name}-samples.png", ncol=8)
    if strip is not None:
        save_interpolation_strip(strip, folder / f"{name}-interpolation.png")


@torch.no_grad()
def _generated_metrics(config, model, xt, yt, root, seed) -> tuple[dict, torch.Tensor]:
    clf = _classifier(root, config["classifier"]["train_size"], config["classifier"]["epochs"])
    n = min(config["fd_samples"], len(xt))
    labels = yt[:n] if config.get("conditional") else None
    torch.manual_seed(10_000 + seed)
    fake = torch.cat([model.sample(len(ix), None if labels is None else labels[ix])
                      for ix in torch.arange(n).split(500)])

    def feats(images):
        return classifier_features(clf, images)

    x_train = load_unit_images(root)[0]
    out = {"frechet": frechet_distance(xt[:n], fake, feats),
           "frechet_floor": frechet_distance(x_train[:n], xt[:n], feats),
           "classifier_acc": classifier_accuracy(clf, xt[:n], yt[:n])}
    if labels is not None:
        out["conditional_acc"] = classifier_accuracy(clf, fake, labels)
    return out, fake


def _strip(model, config, steps: int = 10):
    z = torch.randn(2, 4, model.latent)  # 4 paths, spherical
    path = interpolate_latents(z[0], z[1], steps, "spherical").reshape(-1, model.latent)
    y = torch.arange(4).repeat_interleave(steps) if config.get("conditional") else None
    return model.sample(len(path), y, z=path).view(4, steps, 1, 28, 28)


def generative_trial(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Train one generative model (``config["model"]``: ``"ae"``, ``"vae"``, ``"gan"``) or its
    plain-torch twin on Fashion-MNIST and score it on the test images."""
    model, task, (xt, yt) = _model_and_task(impl, seed, config, root)
    hist = train_model(model, task, seed, {"restore_best": False, **config["fit"]})
    metrics = {"sec_per_epoch": statistics.median(hist.time),
               "first_epoch_loss": hist.train_loss[0], "last_epoch_loss": hist.train_loss[-1]}
    name = f"{exp.model.replace(' ', '_').replace('/', '-')}-{impl}-seed{seed}"
    torch.manual_seed(20_000 + seed)
    with torch.no_grad():
        if config["model"] == "ae":
            task.val_images, task.val_labels = xt, yt  # score on the test images
            metrics.update({f"test_{k}": v for k, v in task.evaluate(model, "val").items()})
            _write_pngs(config, name, torch.cat([xt[:32], model.reconstruct(
                task._input(xt[:32]), yt[:32] if task.conditional else None)]), None)
        else:
            if config["model"] == "vae":
                y = yt if config.get("conditional") else None
                metrics["test_loss"] = statistics.fmean(
                    float(negative_elbo(model, xt[i:i + 1000], None if y is None
                                        else y[i:i + 1000])[0]) for i in range(0, len(xt), 1000))
                k, m = config["iwae_k"], config["iwae_size"]
                metrics["test_iwae_nll"] = float(iwae_nll(model, xt[:m], None if y is None
                                                          else y[:m], k).mean())
            gen, fake = _generated_metrics(config, model, xt, yt, root, seed)
            metrics.update({f"test_{k}": v for k, v in gen.items()})
            _write_pngs(config, name, fake, _strip(model, config))
    return Outcome(metrics, params=count_parameters(model), train_time=sum(hist.time),
                   history=hist.to_dict())


def _outputs(m, config: dict, fast: bool = True) -> list[torch.Tensor]:
    """The networks' deterministic outputs on 4 fixed images / codes: encoder and decoder
    (posterior mean for a VAE), or generator and critic."""
    p = next(m.parameters())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 28, 28, generator=g).to(p)
    y = torch.arange(4, device=p.device) if config.get("conditional") else None
    with torch.no_grad():
        if config["model"] == "gan":
            z = torch.randn(4, m.latent, generator=g).to(p)
            return [m.generator(z, y, fast=fast), m.critic(x, y, fast=fast)]
        code = m.encode(x, y, fast=fast)
        code = code[0] if isinstance(code, tuple) else code
        return [code, m.decode(code, y, fast=fast)]


def _gap(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((u - v).abs().max()) for u, v in zip(a, b))


@paired
def generative_step_speed(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """One training step (what :func:`fit` runs per batch: forward, backward, optimizer steps;
    a GAN step is a critic update, and every ``n_critic``-th also a generator update) of
    geodl's model and its twin, same initial weights, batches and noise (each call seeds
    torch's RNG with its index), interleaved call by call. ``max_abs_diff``: geodl's generic
    message-passing path against its fast path (geodl row), or the twin against geodl
    (torch row)."""
    def stepper(impl: str):
        model, task, _ = _model_and_task(impl, seed, config, root)
        manual = hasattr(task, "configure_optimizers")
        opts = (task.configure_optimizers(model) if manual
                else {"model": torch.optim.Adam(model.parameters(), lr=1e-3)})
        torch.manual_seed(seed)  # the same batch order on both sides
        batches, calls = task.train_batches(), iter(range(2 + config["repeats"]))

        def step():  # one warm-up step (batch 0), then batch 1, 2, ...
            call = next(calls)
            torch.manual_seed(seed + call)  # the same noise on both sides
            idx = batches[call % len(batches)]
            if manual:
                task.train_step(model, idx, opts)
            else:
                opts["model"].zero_grad()
                out = task.train_step(model, idx)
                (out["loss"] if isinstance(out, dict) else out).backward()
                opts["model"].step()
        return model, step

    models, steps = {}, {}
    for impl in ("geodl", "torch"):
        models[impl], steps[impl] = stepper(impl)
    load = OtherLoad()
    t = interleaved(steps, rounds=config["repeats"])
    cores = load.cores()
    m = copy.deepcopy(models["geodl"]).double().eval()  # generic vs fast path, float64
    generic_gap = _gap(_outputs(m, config), _outputs(m, config, fast=False))
    torch.manual_seed(seed)
    ref = _build(config).eval()  # the twin vs geodl from the same initial weights
    twin_gap = _gap(_outputs(ref, config), _outputs(torch_twin(ref), config))
    return {impl: speed_outcome(t[impl], cores, count_parameters(models[impl]),
                                max_abs_diff=generic_gap if impl == "geodl" else twin_gap)
            for impl in t}


# -- the recipes -----------------------------------------------------------------------------
DATA = {"train_size": 60_000, "test_size": 10_000, "batch_size": 128, "fd_samples": 10_000,
        "classifier": {"train_size": 60_000, "epochs": 3}, "samples_dir": None}
QUICK_DATA = {"train_size": 1_000, "test_size": 500, "fd_samples": 500,
              "classifier": {"train_size": 2_000, "epochs": 1}}
AE = {**DATA, "model": "ae", "kind": "conv", "latent": 32, "fit": {"epochs": 5, "lr": 1e-3}}
VAE_DENSE = {**DATA, "model": "vae", "kind": "dense", "latent": 20, "hidden": [400],
             "iwae_k": 50, "iwae_size": 2_000, "fit": {"epochs": 10, "lr": 1e-3}}
VAE_CONV = {**VAE_DENSE, "kind": "conv", "latent": 16, "channels": [32, 64]}
GAN_ = {**DATA, "model": "gan", "latent": 64, "g_channels": [128, 64], "c_channels": [64, 128],
        "batch_size": 64, "fit": {"epochs": 5}}
SPEED = {"train_size": 1024, "repeats": 10}


@dataclass(frozen=True)
class _Row(Experiment):
    """An experiment whose ``--quick`` form also shrinks the data (``quick_seconds``)."""

    quick_seconds: float = 10.0

    def quickened(self) -> Experiment:
        return replace(super().quickened(), seconds=self.quick_seconds)


def _row(model: str, config: dict, metric: str, unit: str, higher: bool, seconds: float,
         quick: dict, quick_seconds: float, published: Published | None = None) -> Experiment:
    return _Row("Fashion-MNIST", model, generative_trial, config, impls=("geodl", "torch"),
                metric=metric, scale=1.0, unit=unit, higher_is_better=higher,
                published=published, seeds=1, seconds=seconds, quick={**QUICK_DATA, **quick},
                quick_seeds=1, load=tensors.load_images, quick_seconds=quick_seconds)


def _speed(model: str, config: dict) -> Experiment:
    return Experiment("Fashion-MNIST, one training step", model, generative_step_speed,
                      {**config, **SPEED}, impls=("geodl", "torch"), metric="ms", scale=1.0,
                      unit="ms", higher_is_better=False, target=1.1, target_relative=True,
                      seeds=3, seconds=3, quick={"repeats": 4}, quick_seeds=1,
                      load=tensors.load_images)


_PSNR, _NATS, _FD = ("test_psnr", "dB", True), ("test_loss", "nats", False), \
    ("test_frechet", "", False)
_Q1 = {"fit": {"epochs": 1}}
_QV = {"fit": {"epochs": 1}, "iwae_k": 10, "iwae_size": 100}

register(Suite("generative", "auto-encoders, VAEs and GANs on Fashion-MNIST (grid graphs) next "
               "to the same networks written with nn.Conv2d / nn.ConvTranspose2d / nn.Linear, "
               "same weights, batches and noise; Frechet distances in the feature space of a "
               "geodl CNN classifier (test_frechet_floor: train vs test images); sample grids "
               "and interpolation strips as PNGs in <out>/generative/samples", (
    _row("AE conv", AE, *_PSNR, 600, _Q1, 8),
    _row("DAE conv (Gaussian 0.3)", {**AE, "corruption": "gaussian", "level": 0.3}, *_PSNR,
         600, _Q1, 8),
    _row("DAE dense (mask 0.5)", {**AE, "kind": "dense", "hidden": [400], "corruption": "mask",
                                  "level": 0.5}, *_PSNR, 120, _Q1, 3),
    _row("VAE dense 784-400-20", VAE_DENSE, *_NATS, 300, _QV, 8, Published(105.0, PYTORCH_VAE)),
    _row("VAE conv", VAE_CONV, *_NATS, 1800, _QV, 15),
    _row("CVAE conv", {**VAE_CONV, "conditional": True}, *_NATS, 1800, _QV, 15),
    _row("GAN (DCGAN)", {**GAN_, "loss": "gan"}, *_FD, 2400, _Q1, 15),
    _row("WGAN (clip)", {**GAN_, "loss": "wgan"}, *_FD, 1500, _Q1, 10),
    _row("WGAN-GP", {**GAN_, "loss": "wgan-gp"}, *_FD, 2000, _Q1, 14),
    _row("cWGAN-GP", {**GAN_, "loss": "wgan-gp", "conditional": True}, *_FD, 2000, _Q1, 14),
    _speed("AE conv step", {**AE}),
    _speed("VAE conv step", {**VAE_CONV}),
    _speed("WGAN-GP step", {**GAN_, "loss": "wgan-gp"}),
)))

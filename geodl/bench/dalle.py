"""The ``dalle`` suite: the mini DALL-E study (:mod:`geodl.bench.dalle_study`) and plain-torch
twins of the VQ-VAE and the contrastive loss.

Study rows share one pipeline run per seed (cached in the process): tokenizers, judges, CLIP,
the transformer, generation and judging run once, and every row reads one of its metrics. The
whole table (class / colour / space accuracy per caption type, seen and held-out, with and
without CLIP re-ranking, CLIP scores), ``study.json`` and one PNG per sampled caption go to
``<out>/dalle/study-seed<k>/`` (``--out`` of ``geodl bench run``, default ``geodl-bench``).

Twin rows time one training step (forward + backward) at the same weights and inputs:

- ``VQ-VAE step``: geodl's :class:`~geodl.models.VQVAE` (grid convolutions' fast path,
  :class:`~geodl.models.VectorQuantizer`) against :class:`TorchVQVAE`, the same network
  written with ``nn.Conv2d`` / ``nn.ConvTranspose2d`` and ``torch.cdist`` in channels-last NCHW;
  both end in the same cuDNN/oneDNN convolution kernels. ``max_abs_diff``: of the loss and
  reconstruction between the two.
- ``InfoNCE step``: :func:`~geodl.tasks.dalle.contrastive_loss` on CLIP's normalised, scaled
  features (the log-softmax diagonals) against :func:`torch_infonce`, open_clip's
  ``ClipLoss`` formulation (two ``F.cross_entropy`` calls).
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from geodl.bench.experiments import Outcome
from geodl.bench.store import artifact_dir
from geodl.bench.timing import OtherLoad, interleaved, paired, speed_outcome

__all__ = ["STUDY", "STUDY_QUICK", "TorchVQVAE", "study_trial", "vqvae_speed", "infonce_speed",
           "torch_infonce"]

STUDY = {"source": "fashion", "classes": list(range(10)),
         "colours": ["red", "green", "blue", "yellow"], "text_len": 12,
         "train": 20_000, "val": 1000, "judge_train": 20_000, "num_codes": 128, "code_dim": 32,
         "hidden": 64, "tok_epochs": 5, "judge_epochs": 4, "clip_epochs": 8,
         "clip": {"embed_dim": 64, "width": 64, "n_layer": 2, "n_head": 4, "patch_size": 7},
         "dalle": {"n_layer": 4, "n_head": 4, "n_embd": 128}, "dalle_epochs": 10,
         "zero_shot": 10_000, "eval_captions": 40, "candidates": 8, "top_k": 32, "grids": 6}
STUDY_QUICK = {"classes": [1, 5, 7, 8], "colours": ["red", "green", "blue"], "train": 4000,
               "val": 400, "judge_train": 4000, "num_codes": 64, "tok_epochs": 4,
               "judge_epochs": 3, "clip_epochs": 5,
               "clip": {"embed_dim": 32, "width": 32, "n_layer": 1, "n_head": 2,
                        "patch_size": 7},
               "dalle": {"n_layer": 2, "n_head": 2, "n_embd": 64}, "dalle_epochs": 8,
               "zero_shot": 2000, "eval_captions": 24, "candidates": 6, "grids": 3}


@functools.lru_cache(maxsize=2)
def _study(config_json: str, seed: int, root: str | None, out: Path) -> tuple[dict, float]:
    from geodl.bench.dalle_study import run_study

    config = json.loads(config_json)
    tic = time.perf_counter()
    metrics = run_study(config, seed, root, out)
    return metrics, time.perf_counter() - tic


def study_trial(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """One row of the study: the cached pipeline's metrics (all of them are stored)."""
    if impl != "geodl":
        raise ValueError(f"impl={impl!r}; the study rows run geodl only.")
    cfg = {k: v for k, v in config.items() if k != "quick"}
    out = Path(cfg.pop("out")) if "out" in cfg else artifact_dir("dalle", f"study-seed{seed}")
    metrics, seconds = _study(json.dumps(cfg, sort_keys=True), seed, root, out)
    return Outcome(dict(metrics), train_time=seconds)


class TorchVQVAE(nn.Module):
    """The VQ-VAE of :class:`~geodl.models.VQVAE` written directly in torch (NCHW convolutions,
    ``torch.cdist`` nearest codes); :meth:`load_geodl` copies a geodl model's weights."""

    def __init__(self, in_channels: int = 3, num_codes: int = 64, code_dim: int = 32,
                 hidden: int = 64, beta: float = 0.25):
        super().__init__()
        self.beta = beta
        self.enc = nn.ModuleList([nn.Conv2d(in_channels, hidden // 2, 4, 2, 1),
                                  nn.Conv2d(hidden // 2, hidden, 4, 2, 1),
                                  nn.Conv2d(hidden, code_dim, 3, 1, 1)])
        self.codebook = nn.Parameter(torch.zeros(num_codes, code_dim))
        self.dec_conv = nn.Conv2d(code_dim, hidden, 3, 1, 1)
        self.dec = nn.ModuleList([nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1),
                                  nn.ConvTranspose2d(hidden // 2, in_channels, 4, 2, 1)])

    @torch.no_grad()
    def load_geodl(self, model) -> TorchVQVAE:
        convs = [*model.encoder.convs, model.decoder.conv]
        for mine, theirs in zip([*self.enc, self.dec_conv, *self.dec],
                                [*convs, *model.decoder.ups]):
            mine.weight.copy_(theirs.weight), mine.bias.copy_(theirs.bias)
        self.codebook.copy_(model.quantizer.embed)
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(reconstruction logits, loss)`` with loss = MSE + codebook + beta * commitment."""
        z = x
        for i, conv in enumerate(self.enc):
            z = conv(z) if i == len(self.enc) - 1 else F.relu(conv(z))
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)  # (B*h*w, D)
        zq = self.codebook[torch.cdist(flat, self.codebook).argmin(1)]
        loss = F.mse_loss(zq, flat.detach()) + self.beta * F.mse_loss(flat, zq.detach())
        zq = (flat + (zq - flat).detach()).view(b, h, w, d).permute(0, 3, 1, 2)
        y = self.dec_conv(zq)
        for up in self.dec:
            y = up(F.relu(y))
        return y, loss + F.mse_loss(torch.sigmoid(y), x)


@paired
def vqvae_speed(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """A VQ-VAE training step (forward + backward) of geodl and the torch twin, same weights
    and batch, interleaved call by call (medians and spread, :mod:`geodl.bench.timing`)."""
    from geodl.models import VQVAE

    torch.manual_seed(seed)
    geo = VQVAE(num_codes=config["num_codes"], code_dim=config["code_dim"],
                hidden=config["hidden"])
    twin = TorchVQVAE(3, config["num_codes"], config["code_dim"], config["hidden"]).load_geodl(geo)
    x = torch.rand(config["batch"], 3, 28, 56, generator=torch.Generator().manual_seed(seed))
    x = x.contiguous(memory_format=torch.channels_last)

    def geo_loss():
        logits, terms = geo(x)
        return logits, F.mse_loss(torch.sigmoid(logits), x) + terms["vq_loss"]

    def step(model, fn):
        def run():
            model.zero_grad(set_to_none=True)
            fn()[1].backward()
        return run
    load = OtherLoad()
    t = interleaved({"geodl": step(geo, geo_loss), "torch": step(twin, lambda: twin(x))},
                    int(config["repeats"]))
    cores = load.cores()
    with torch.no_grad():
        (ga, gl), (ta, tl) = geo_loss(), twin(x)
    diff = max(float((ga - ta).abs().max()), float((gl - tl).abs()))
    return {k: speed_outcome(t[k], cores, max_abs_diff=diff) for k in t}


def torch_infonce(img: torch.Tensor, txt: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE as open_clip's ``ClipLoss`` writes it: normalised features, the
    clamped logit scale, two ``cross_entropy`` calls (images -> captions, captions -> images)."""
    img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
    logits_per_image = torch.clamp(log_scale.exp(), max=100) * img @ txt.t()
    labels = torch.arange(len(img), device=img.device)
    return 0.5 * (F.cross_entropy(logits_per_image, labels)
                  + F.cross_entropy(logits_per_image.t(), labels))


@paired
def infonce_speed(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """The contrastive loss forward + backward on ``(B, E)`` features, geodl's and open_clip's
    formulation (:func:`torch_infonce`), interleaved call by call."""
    import math

    from geodl.tasks.dalle import contrastive_loss

    gen = torch.Generator().manual_seed(seed)
    b, e = config["batch"], config["dim"]
    img = torch.randn(b, e, generator=gen).requires_grad_()
    txt = torch.randn(b, e, generator=gen).requires_grad_()
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)

    def geo():
        scale = log_scale.exp().clamp(max=100.0)
        return contrastive_loss(scale * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).t())

    def step(fn):
        def run():
            img.grad = txt.grad = log_scale.grad = None
            fn().backward()
        return run
    load = OtherLoad()
    t = interleaved({"geodl": step(geo), "torch": step(lambda: torch_infonce(img, txt,
                                                                             log_scale))},
                    int(config["repeats"]))
    cores = load.cores()
    with torch.no_grad():
        diff = float((geo() - torch_infonce(img, txt, log_scale)).abs())
    return {k: speed_outcome(t[k], cores, max_abs_diff=diff) for k in t}


# -- the suite -------------------------------------------------------------------------------
from geodl.bench.suites import Experiment, Suite, register  # noqa: E402  (suites imports us last)

_DATA = "captioned Fashion-MNIST 28x56"
_SCORES = {"class": ("class",), "colour": ("class", "colour"),
           "relation": ("class", "colour", "space")}


def _study_row(model: str, metric: str, scale: float = 100.0, unit: str = "%",
               higher: bool = True) -> Experiment:
    return Experiment(_DATA, model, study_trial, STUDY, impls=("geodl",), metric=metric,
                      scale=scale, unit=unit, higher_is_better=higher, seeds=1, seconds=3600,
                      quick=STUDY_QUICK, quick_seeds=1)


def _study_rows() -> list[Experiment]:
    rows = []
    for split in ("seen", "held_out"):
        for kind, scores in _SCORES.items():
            if split == "held_out" and kind == "class":
                continue
            for mode in ("first", "rerank"):
                label = "no re-ranking" if mode == "first" else "CLIP re-ranking"
                rows += [_study_row(f"DALL-E {kind} captions, {split}, {label}: {a}",
                                    f"{kind}_{split}_{mode}_{a}") for a in scores]
    rows += [_study_row(f"{name} tokenizer: {what}", f"{key}_{m}", scale, unit, higher)
             for key, name in (("vqvae", "VQ-VAE"), ("dvae", "dVAE"))
             for what, m, scale, unit, higher in (("reconstruction MSE", "mse", 1.0, "", False),
                                                  ("codebook perplexity", "perplexity", 1.0,
                                                   "codes", True))]
    rows += [_study_row("CLIP zero-shot on the Fashion-MNIST test set", "clip_zero_shot_acc"),
             _study_row("CLIP score of re-ranked relation samples",
                        "relation_seen_rerank_clip_score", 1.0, "")]
    # the first row runs the pipeline (one thread of a busy 2-core machine: 40 min, --quick 156 s);
    # the others read its cached metrics
    return [replace(r, seconds=2400 if i == 0 else 1, quick_seconds=180 if i == 0 else 1)
            for i, r in enumerate(rows)]


def _speed_row(model: str, trial, config: dict) -> Experiment:
    return Experiment(f"batch {config['batch']}", model, trial, config, impls=("geodl", "torch"),
                      metric="ms", scale=1.0, unit="ms", higher_is_better=False, target=1.1,
                      target_relative=True, seeds=3, seconds=10, quick={"repeats": 5})


register(Suite("dalle", "mini DALL-E on Fashion-MNIST canvases: VQ-VAE/dVAE tokenizers, CLIP, "
               "a GPT over caption + image tokens; attribute accuracies of generated images "
               "(judged by classifiers trained on real canvases) with and without CLIP "
               "re-ranking, seen and held-out combinations; plain-torch twins of the VQ-VAE "
               "and InfoNCE steps", (
    *_study_rows(),
    _speed_row("VQ-VAE step", vqvae_speed,
               {"batch": 64, "num_codes": 64, "code_dim": 32, "hidden": 64, "repeats": 20}),
    _speed_row("InfoNCE step", infonce_speed, {"batch": 256, "dim": 64, "repeats": 50}),
)))

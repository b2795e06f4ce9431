r"""Training a denoising diffusion model on :func:`~geodl.tasks.fit`: the noise-prediction
loss, uniform timesteps and an EMA of the weights for sampling.

`Ho et al. 2020 <https://arxiv.org/abs/2006.11239>`_ (Algorithm 1): draw :math:`t \sim
U\{0, T-1\}` and :math:`\epsilon \sim \mathcal{N}(0, I)`, form :math:`x_t = \sqrt{\bar\alpha_t}
x_0 + \sqrt{1 - \bar\alpha_t}\epsilon` (:meth:`~geodl.diffusion.DDPMScheduler.add_noise`) and
minimise

.. math::
    L_{\text{simple}} = \mathbb{E}_{t, x_0, \epsilon}
    \lVert \epsilon - \epsilon_\theta(x_t, t, y) \rVert^2

or, with ``prediction_type="v_prediction"``, the same squared error against :math:`v =
\sqrt{\bar\alpha_t}\epsilon - \sqrt{1 - \bar\alpha_t} x_0` (``"sample"``: against
:math:`x_0`); the scheduler's :meth:`~geodl.diffusion.DDPMScheduler.target` says which. With a
learned variance (``2C`` output channels) only the prediction channels enter this loss (the
variational bound term of Nichol & Dhariwal is not implemented).

The task optimises by hand (fit's manual-optimisation protocol) so that it can update the
exponential moving average :math:`\theta_{\text{EMA}} \leftarrow d\,\theta_{\text{EMA}} + (1 -
d)\,\theta` after every optimizer step (``torch.optim.swa_utils.AveragedModel``); the EMA is
part of the task's ``state_dict``, so fit's checkpoints hold it and a resumed run continues it
exactly. Sample from :meth:`DiffusionTask.ema_model`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from geodl.diffusion.scheduler import DDPMScheduler

__all__ = ["DiffusionTask", "diffusion_loss", "bucket_losses"]


def diffusion_loss(model: nn.Module, scheduler: DDPMScheduler, x0: Tensor,
                   labels: Tensor | None = None, t: Tensor | None = None,
                   noise: Tensor | None = None) -> Tensor:
    """The mean squared error between the model output and the scheduler's target at
    uniform (or the given) timesteps ``t`` ``(B,)``; ``x0`` ``(B, C, H, W)`` in ``[-1, 1]``."""
    if t is None:
        t = torch.randint(0, scheduler.num_train_timesteps, (x0.size(0),), device=x0.device)
    noise = torch.randn_like(x0) if noise is None else noise
    out = model(scheduler.add_noise(x0, noise, t), t, labels)
    return F.mse_loss(out[:, :x0.size(1)], scheduler.target(x0, noise, t))


@torch.no_grad()
def bucket_losses(model: nn.Module, scheduler: DDPMScheduler, x0: Tensor,
                  labels: Tensor | None = None, buckets: int = 10, seed: int = 0,
                  batch_size: int = 256) -> dict[str, float]:
    """The loss per timestep bucket ``[k T / buckets, (k + 1) T / buckets)``: every image
    gets one ``t`` drawn in each bucket and one noise (a fixed generator, so repeated calls
    compare like with like). Keys ``"t0-99"`` etc. and ``"loss"`` (their mean)."""
    T = scheduler.num_train_timesteps
    gen = torch.Generator().manual_seed(seed)
    edges = [round(k * T / buckets) for k in range(buckets + 1)]
    out = {}
    for lo, hi in zip(edges, edges[1:]):
        total = 0.0
        for i in range(0, len(x0), batch_size):
            xb = x0[i:i + batch_size]
            t = torch.randint(lo, hi, (len(xb),), generator=gen).to(xb.device)
            noise = torch.randn(xb.shape, generator=gen, dtype=xb.dtype).to(xb.device)
            yb = None if labels is None else labels[i:i + batch_size]
            total += float(diffusion_loss(model, scheduler, xb, yb, t, noise)) * len(xb)
        out[f"t{lo}-{hi - 1}"] = total / len(x0)
    out["loss"] = sum(out.values()) / buckets
    return out


class DiffusionTask:
    """Train ``model(x_t, t, labels)`` to denoise ``images`` under ``scheduler``.

    Args:
        images: training images ``(N, C, H, W)`` scaled to ``[-1, 1]``.
        scheduler: the :class:`~geodl.diffusion.DDPMScheduler` (schedule, prediction type).
        labels: ``(N,)`` classes for a conditional model (label dropout is the model's).
        val_images, val_labels: held-out images for :meth:`evaluate` (per-bucket loss of the
            EMA weights); without them fit monitors the training loss.
        batch_size: images per step.
        lr: Adam's learning rate.
        ema_decay: :math:`d` of the EMA (``0`` keeps a copy of the latest weights).
        buckets: timestep buckets of the validation loss.
    """

    monitor, mode = "loss", "min"

    def __init__(self, images: Tensor, scheduler: DDPMScheduler, labels: Tensor | None = None,
                 *, val_images: Tensor | None = None, val_labels: Tensor | None = None,
                 batch_size: int = 128, lr: float = 2e-4, ema_decay: float = 0.999,
                 buckets: int = 10):
        if not isinstance(images, Tensor) or images.dim() != 4:
            raise ValueError(f"images must be a batch (N, C, H, W) in [-1, 1], got "
                             f"{tuple(getattr(images, 'shape', ()))}.")
        if labels is not None and labels.shape != (images.size(0),):
            raise ValueError(f"labels must have shape ({images.size(0)},), got "
                             f"{tuple(labels.shape)}.")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay={ema_decay} must lie in [0, 1).")
        self.images, self.labels, self.scheduler = images, labels, scheduler
        self.val_images, self.val_labels = val_images, val_labels
        self.batch_size, self.lr, self.ema_decay, self.buckets = batch_size, lr, ema_decay, buckets
        self.ema: AveragedModel | None = None

    def has_split(self, split: str) -> bool:
        return split == "val" and self.val_images is not None

    def configure_optimizers(self, model: nn.Module) -> dict[str, torch.optim.Optimizer]:
        """Adam over the model; also starts the EMA (a copy of the current weights)."""
        self.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay),
                                 use_buffers=True)
        return {"model": torch.optim.Adam(model.parameters(), lr=self.lr)}

    def train_batches(self) -> list[Tensor]:
        perm = torch.randperm(len(self.images), device=self.images.device)
        return [perm[i:i + self.batch_size] for i in range(0, len(perm), self.batch_size)]

    def train_step(self, model: nn.Module, idx: Tensor,
                   optimizers: dict[str, torch.optim.Optimizer]) -> Tensor:
        opt = optimizers["model"]
        opt.zero_grad()
        labels = None if self.labels is None else self.labels[idx]
        loss = diffusion_loss(model, self.scheduler, self.images[idx], labels)
        loss.backward()
        opt.step()
        self.ema.update_parameters(model)
        return loss.detach()

    def ema_model(self) -> nn.Module:
        """The network with the EMA weights, in eval mode (for sampling)."""
        if self.ema is None:
            raise RuntimeError("no EMA yet: train with fit(model, task) first.")
        return self.ema.module.eval()

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split != "val" or self.val_images is None:
            raise ValueError(f"split={split!r}: DiffusionTask evaluates 'val' when built with "
                             "val_images=.")
        net = model if self.ema is None else self.ema_model()
        return bucket_losses(net, self.scheduler, self.val_images, self.val_labels,
                             self.buckets)

    def state_dict(self) -> dict:
        return {"ema": None if self.ema is None else self.ema.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("ema") is not None:
            if self.ema is None:
                raise RuntimeError("load_state_dict before configure_optimizers: fit calls "
                                   "them in that order.")
            self.ema.load_state_dict(state["ema"])

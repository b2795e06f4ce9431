r"""Sampling loops that take the model as an argument: DDPM / DDIM chains, classifier-free
guidance and spherical interpolation of the initial noise.

The model is any callable ``model(x_t, t, labels) -> output`` on image batches ``(B, C, H,
W)`` with ``t`` ``(B,)`` long and ``labels`` ``(B,)`` or ``None`` (unconditional), such as
:class:`geodl.models.Denoiser`; the scheduler (:class:`~geodl.diffusion.DDPMScheduler` or
:class:`~geodl.diffusion.DDIMScheduler`, after ``set_timesteps`` for a short chain) decides
the step.

**Classifier-free guidance** (`Ho & Salimans 2022 <https://arxiv.org/abs/2207.12598>`_): with
guidance scale :math:`w`, :math:`\hat\epsilon = \epsilon_\theta(x_t, \varnothing) + w\,
(\epsilon_\theta(x_t, y) - \epsilon_\theta(x_t, \varnothing))`; ``w = 1`` is the conditional
model, ``w = 0`` the unconditional one; both halves run as one batch of ``2B``. With a learned
variance the guidance applies to the prediction channels and the conditional variance is kept.

**Noise interpolation** (`Song et al. 2021 <https://arxiv.org/abs/2010.02502>`_, sec. 5.3):
DDIM with ``eta = 0`` maps ``x_T`` to an image deterministically, so images between two draws
come from :func:`slerp` between their noises, :math:`\frac{\sin((1-\lambda)\theta)}{\sin\theta}
z_0 + \frac{\sin(\lambda\theta)}{\sin\theta} z_1`, :math:`\cos\theta = \frac{z_0 \cdot
z_1}{|z_0||z_1|}` (Gaussian noise lives near a sphere; a straight line would pass inside it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from geodl.diffusion.scheduler import DDIMScheduler, DDPMScheduler

__all__ = ["sample", "guided_output", "slerp", "interpolate"]

Model = Callable[[Tensor, Tensor, Tensor | None], Tensor]


def guided_output(model: Model, x: Tensor, t: Tensor, labels: Tensor | None,
                  guidance_scale: float | None, null_label: int | None,
                  channels: int) -> Tensor:
    """The model output at ``(x, t)``, guided when ``guidance_scale`` is given (module
    docstring); ``channels`` = the prediction's channels (the rest is a variance)."""
    if guidance_scale is None or labels is None:
        return model(x, t, labels)
    if null_label is None:
        raise ValueError("guidance_scale needs null_label= (the label meaning 'no class', "
                         "num_classes for geodl's Denoiser).")
    both = model(torch.cat([x, x]), torch.cat([t, t]),
                 torch.cat([labels, torch.full_like(labels, null_label)]))  # (2B, ...)
    cond, uncond = both.chunk(2)
    guided = uncond[:, :channels] + guidance_scale * (cond[:, :channels] - uncond[:, :channels])
    return torch.cat([guided, cond[:, channels:]], 1) if cond.size(1) > channels else guided


@torch.no_grad()
def sample(model: Model, scheduler: DDPMScheduler, noise: Tensor, *,
           labels: Tensor | None = None, guidance_scale: float | None = None,
           null_label: int | None = None, generator: torch.Generator | None = None,
           return_x0: bool = False) -> Tensor:
    """Run the scheduler's chain from ``noise`` ``x_T`` ``(B, C, H, W)`` down to ``x_0``.

    Args:
        model: ``model(x_t, t, labels)``; put it in eval mode first.
        scheduler: a :class:`~geodl.diffusion.DDPMScheduler` (ancestral, every step or the
            chain of ``set_timesteps``) or :class:`~geodl.diffusion.DDIMScheduler`.
        noise: the initial noise, e.g. ``torch.randn(B, C, H, W, generator=g)``.
        labels: ``(B,)`` classes for a conditional model, ``None`` for unconditional.
        guidance_scale: classifier-free guidance scale ``w`` (``None``: no guidance).
        null_label: the "no class" label of the model (for guidance).
        generator: the random stream of the ancestral noise.
        return_x0: also return the last step's prediction of ``x_0``.

    >>> sched = DDIMScheduler("linear", 100)
    >>> sched.set_timesteps(5)
    >>> x = sample(lambda x, t, y: torch.zeros_like(x), sched, torch.randn(2, 1, 4, 4))
    >>> tuple(x.shape)
    (2, 1, 4, 4)
    """
    if not isinstance(scheduler, DDPMScheduler):
        raise TypeError(f"scheduler must be a DDPMScheduler or DDIMScheduler, got "
                        f"{type(scheduler).__name__}.")
    if not isinstance(noise, Tensor) or noise.dim() < 2:
        raise ValueError(f"noise must be a batch (B, C, ...), got "
                         f"{tuple(getattr(noise, 'shape', ()))}.")
    if labels is not None and (labels.dim() != 1 or labels.numel() != noise.size(0)):
        raise ValueError(f"labels must have shape ({noise.size(0)},), one per sample, got "
                         f"{tuple(labels.shape)}.")
    x, x0 = noise, noise
    for t in scheduler.timesteps.tolist():
        t_batch = torch.full((x.size(0),), t, dtype=torch.long, device=x.device)  # (B,)
        out = guided_output(model, x, t_batch, labels, guidance_scale, null_label, x.size(1))
        x, x0 = scheduler.step(out, t, x, generator=generator)
    return (x, x0) if return_x0 else x


def slerp(z0: Tensor, z1: Tensor, weights: Tensor) -> Tensor:
    r"""Spherical interpolation of two noise tensors at each of ``weights`` ``(K,)`` in
    ``[0, 1]``: returns ``(K, *z0.shape)`` (module docstring; a straight line when
    :math:`\theta \approx 0`).

    >>> z = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5]))
    >>> [round(v, 4) for v in z[1].tolist()]
    [0.7071, 0.7071]
    """
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have one shape, got {tuple(z0.shape)} and "
                         f"{tuple(z1.shape)}.")
    w = weights.to(z0.dtype).view(-1, *([1] * z0.dim()))  # (K, 1, ..., 1)
    cos = (z0 * z1).sum() / (z0.norm() * z1.norm())
    theta = torch.arccos(cos.clamp(-1, 1))
    if float(theta) < 1e-4:
        return (1 - w) * z0 + w * z1
    return (torch.sin((1 - w) * theta) * z0 + torch.sin(w * theta) * z1) / torch.sin(theta)


@torch.no_grad()
def interpolate(model: Model, scheduler: DDIMScheduler, z0: Tensor, z1: Tensor,
                steps: int = 8, *, label: int | None = None,
                guidance_scale: float | None = None, null_label: int | None = None) -> Tensor:
    """Decode ``steps`` spherical interpolations between the noises ``z0`` and ``z1``
    ``(C, H, W)`` with deterministic DDIM (``eta = 0``): an image strip ``(steps, C, H, W)``."""
    if not isinstance(scheduler, DDIMScheduler):
        raise TypeError("interpolate needs a DDIMScheduler (deterministic with eta=0), got "
                        f"{type(scheduler).__name__}.")
    if scheduler.eta != 0:
        raise ValueError(f"interpolate needs eta=0 (a deterministic decoder), the scheduler "
                         f"has eta={scheduler.eta}.")
    noise = slerp(z0, z1, torch.linspace(0, 1, steps, device=z0.device))  # (steps, C, H, W)
    labels = None if label is None else torch.full((steps,), label, device=z0.device)
    return sample(model, scheduler, noise, labels=labels, guidance_scale=guidance_scale,
                  null_label=null_label)

r"""Beta schedules of the forward (noising) process and the quantities derived from them.

The forward process of `"Denoising Diffusion Probabilistic Models"
<https://arxiv.org/abs/2006.11239>`_ (Ho et al. 2020) adds Gaussian noise in ``T`` steps,

.. math::
    q(x_t \mid x_{t-1}) = \mathcal{N}\big(\sqrt{1 - \beta_t}\, x_{t-1},\ \beta_t I\big), \qquad
    q(x_t \mid x_0) = \mathcal{N}\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big),

with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_t = \prod_{s \le t} \alpha_s`. A
schedule is the vector :math:`\beta_0 \dots \beta_{T-1}` (timesteps are 0-based, as in
diffusers); :func:`derive` computes everything the scheduler needs from it, once.

Betas are ``float32`` and the derived quantities are computed in ``float32`` with the same
operations as diffusers' ``DDPMScheduler``, so both agree to the last bit or so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["linear_betas", "scaled_linear_betas", "cosine_betas", "SCHEDULES", "Schedule",
           "derive", "make_schedule"]


def _check_steps(num_timesteps: int) -> int:
    if isinstance(num_timesteps, bool) or not isinstance(num_timesteps, int) or num_timesteps < 2:
        raise ValueError(f"num_timesteps must be an integer >= 2 (a chain needs at least two "
                         f"steps; DDPM uses 1000), got {num_timesteps!r}.")
    return num_timesteps


def linear_betas(num_timesteps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02) -> Tensor:
    r"""Ho et al.'s linear schedule, :math:`\beta_t` evenly spaced from ``beta_start`` to
    ``beta_end``.

    >>> linear_betas(3, 0.1, 0.3).tolist() == torch.tensor([0.1, 0.2, 0.3]).tolist()
    True
    """
    _check_steps(num_timesteps)
    return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float32)


def scaled_linear_betas(num_timesteps: int = 1000, beta_start: float = 1e-4,
                        beta_end: float = 0.02) -> Tensor:
    r"""Latent diffusion's schedule: :math:`\sqrt{\beta_t}` evenly spaced, then squared
    (Stable Diffusion uses ``beta_start=0.00085, beta_end=0.012``)."""
    _check_steps(num_timesteps)
    return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_timesteps,
                          dtype=torch.float32) ** 2


def cosine_betas(num_timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    r"""The cosine schedule of `"Improved Denoising Diffusion Probabilistic Models"
    <https://arxiv.org/abs/2102.09672>`_ (Nichol & Dhariwal 2021, eq. 17):
    :math:`\bar\alpha(t) = \cos^2\big(\frac{t/T + s}{1 + s} \frac{\pi}{2}\big)`,
    :math:`\beta_t = \min(1 - \bar\alpha(\frac{t+1}{T}) / \bar\alpha(\frac{t}{T}),\ 0.999)`
    (diffusers' ``squaredcos_cap_v2``).

    >>> b = cosine_betas(1000)
    >>> round(float(b[0]), 6), float(b[-1])  # tiny first step, clipped last one
    (4.1e-05, 0.9990000128746033)
    """
    _check_steps(num_timesteps)
    t = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps  # (T + 1,)
    alpha_bar = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta).to(torch.float32)


#: name -> beta schedule
SCHEDULES: dict[str, Callable[..., Tensor]] = {
    "linear": linear_betas, "scaled_linear": scaled_linear_betas, "cosine": cosine_betas,
}


@dataclass(frozen=True)
class Schedule:
    r"""A beta schedule and its derived quantities, each ``(T,)`` ``float32``.

    - ``alphas`` :math:`\alpha_t = 1 - \beta_t`; ``alphas_cumprod`` :math:`\bar\alpha_t`;
      ``alphas_cumprod_prev`` :math:`\bar\alpha_{t-1}` (:math:`\bar\alpha_{-1} = 1`);
    - ``sqrt_alphas_cumprod``, ``sqrt_one_minus_alphas_cumprod``: the forward process
      :math:`x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \epsilon`;
    - the posterior :math:`q(x_{t-1} \mid x_t, x_0) = \mathcal{N}(c_0 x_0 + c_t x_t,\
      \tilde\beta_t)` of the full chain: ``posterior_mean_coef1`` :math:`c_0 =
      \sqrt{\bar\alpha_{t-1}} \beta_t / (1 - \bar\alpha_t)`, ``posterior_mean_coef2``
      :math:`c_t = \sqrt{\alpha_t} (1 - \bar\alpha_{t-1}) / (1 - \bar\alpha_t)`,
      ``posterior_variance`` :math:`\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 -
      \bar\alpha_t} \beta_t` (clamped at ``1e-20`` for its log).
    """

    betas: Tensor
    alphas: Tensor
    alphas_cumprod: Tensor
    alphas_cumprod_prev: Tensor
    sqrt_alphas_cumprod: Tensor
    sqrt_one_minus_alphas_cumprod: Tensor
    posterior_mean_coef1: Tensor
    posterior_mean_coef2: Tensor
    posterior_variance: Tensor

    @property
    def num_timesteps(self) -> int:
        return self.betas.numel()


def derive(betas: Tensor) -> Schedule:
    """Every derived quantity of ``betas`` ``(T,)`` in ``(0, 1)``, computed once."""
    if not isinstance(betas, Tensor) or betas.dim() != 1:
        raise ValueError(f"betas must be a 1-D tensor, got {getattr(betas, 'shape', betas)!r}.")
    _check_steps(betas.numel())
    if not bool(((betas > 0) & (betas < 1)).all()):
        raise ValueError(f"betas must lie in (0, 1), got values in [{float(betas.min())}, "
                         f"{float(betas.max())}].")
    betas = betas.to(torch.float32)
    alphas = 1.0 - betas
    abar = torch.cumprod(alphas, dim=0)  # \bar\alpha_t
    abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])  # \bar\alpha_{t-1}
    beta_t = 1 - abar / abar_prev  # = beta_t up to round-off, as diffusers computes it
    return Schedule(
        betas=betas, alphas=alphas, alphas_cumprod=abar, alphas_cumprod_prev=abar_prev,
        sqrt_alphas_cumprod=abar ** 0.5, sqrt_one_minus_alphas_cumprod=(1 - abar) ** 0.5,
        posterior_mean_coef1=abar_prev ** 0.5 * beta_t / (1 - abar),
        posterior_mean_coef2=(abar / abar_prev) ** 0.5 * (1 - abar_prev) / (1 - abar),
        posterior_variance=((1 - abar_prev) / (1 - abar) * beta_t).clamp(min=1e-20))


def make_schedule(name: str = "linear", num_timesteps: int = 1000, **options) -> Schedule:
    """The derived :class:`Schedule` of the beta schedule ``name`` (``"linear"``,
    ``"scaled_linear"`` or ``"cosine"``); ``options`` go to its function.

    >>> s = make_schedule("cosine", 10)
    >>> s.num_timesteps, bool((s.alphas_cumprod.diff() < 0).all())
    (10, True)
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule={name!r}; choose one of {sorted(SCHEDULES)}.")
    return derive(SCHEDULES[name](num_timesteps, **options))

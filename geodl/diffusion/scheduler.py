r"""Schedulers: the state of a diffusion chain and one reverse step, never the network.

As in diffusers, the scheduler holds the schedule (:mod:`geodl.diffusion.schedules`) and the
timesteps of the chain; the user's loop (or :mod:`geodl.diffusion.sampling`) calls the model
and hands its output to :meth:`DDPMScheduler.step`. Timesteps are 0-based, ``t in [0, T)``.

**DDPM** (`Ho et al. 2020 <https://arxiv.org/abs/2006.11239>`_, eq. 7), from ``t`` to the
previous timestep ``t'`` of the chain (``t - 1``, or the next one after :meth:`set_timesteps`),
with :math:`\bar\alpha_{-1} = 1`, :math:`\alpha = \bar\alpha_t / \bar\alpha_{t'}`,
:math:`\beta = 1 - \alpha`:

.. math::
    x_{t'} = \frac{\sqrt{\bar\alpha_{t'}}\,\beta}{1 - \bar\alpha_t} \hat x_0
           + \frac{\sqrt{\alpha}\,(1 - \bar\alpha_{t'})}{1 - \bar\alpha_t} x_t + \sigma z,
    \qquad z \sim \mathcal{N}(0, I) \text{ for } t > 0

with :math:`\sigma^2 = \tilde\beta = \frac{1 - \bar\alpha_{t'}}{1 - \bar\alpha_t}\beta`
(``"fixed_small"``), :math:`\beta` (``"fixed_large"``), or, ``"learned_range"``
(`Nichol & Dhariwal 2021 <https://arxiv.org/abs/2102.09672>`_, eq. 15), :math:`\log\sigma^2
= \frac{v+1}{2}\log\beta + \frac{1-v}{2}\log\tilde\beta` from a second half of the model's
channels :math:`v \in [-1, 1]`.

The model predicts (``prediction_type``) the noise :math:`\epsilon` (``"epsilon"``), the
clean sample :math:`x_0` (``"sample"``) or the velocity :math:`v = \sqrt{\bar\alpha_t}\epsilon
- \sqrt{1 - \bar\alpha_t} x_0` (``"v_prediction"``, `Salimans & Ho 2022
<https://arxiv.org/abs/2202.00512>`_); :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}
\hat\epsilon) / \sqrt{\bar\alpha_t}` or :math:`\sqrt{\bar\alpha_t} x_t - \sqrt{1 -
\bar\alpha_t} \hat v`, clipped to ``[-clip_sample, clip_sample]``.

**DDIM** (`Song et al. 2021 <https://arxiv.org/abs/2010.02502>`_, eq. 12):
:math:`x_{t'} = \sqrt{\bar\alpha_{t'}} \hat x_0 + \sqrt{1 - \bar\alpha_{t'} - \sigma^2}\,
\hat\epsilon + \sigma z` with :math:`\sigma = \eta \sqrt{\tilde\beta}`: ``eta = 0`` is
deterministic, ``eta = 1`` is the DDPM step with ``"fixed_small"`` variance.

Shapes: ``x_t`` and ``noise`` any ``(B, C, ...)`` (images ``(B, C, H, W)``); ``t`` in
:meth:`~DDPMScheduler.add_noise` a ``(B,)`` long tensor (or an int), in ``step`` one int.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor

from geodl.diffusion.schedules import Schedule, derive, make_schedule
from geodl.graph.validation import check_option, check_positive_int

__all__ = ["DDPMScheduler", "DDIMScheduler", "StepOutput"]

PREDICTION_TYPES = ["epsilon", "sample", "v_prediction"]
VARIANCE_TYPES = ["fixed_small", "fixed_large", "learned_range"]


class StepOutput(NamedTuple):
    """``prev_sample`` :math:`x_{t'}` and the model's ``pred_original_sample`` :math:`\\hat x_0`."""

    prev_sample: Tensor
    pred_original_sample: Tensor


def _per_sample(values: Tensor, t: Tensor, like: Tensor) -> Tensor:
    """``values[t]`` shaped ``(B, 1, ..., 1)`` to broadcast over ``like``."""
    out = values.to(like.device, like.dtype)[t].flatten()  # (B,)
    return out.view(-1, *([1] * (like.dim() - 1)))


class DDPMScheduler:
    """Ancestral DDPM sampling and the forward process of one beta schedule (module docstring).

    Args:
        schedule: ``"linear"``, ``"scaled_linear"``, ``"cosine"``, a derived
            :class:`~geodl.diffusion.schedules.Schedule` or a ``(T,)`` tensor of betas.
        num_train_timesteps: ``T`` (ignored when ``schedule`` carries its own betas).
        variance_type: ``"fixed_small"``, ``"fixed_large"`` or ``"learned_range"``.
        prediction_type: ``"epsilon"``, ``"sample"`` or ``"v_prediction"``.
        clip_sample: clip :math:`\\hat x_0` to ``[-clip_sample, clip_sample]``; ``None``: no clip.
        schedule_options: passed to the schedule function (``beta_start``, ``beta_end``, ``s``).

    >>> sched = DDPMScheduler("cosine", 100)
    >>> x0, eps = torch.zeros(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    >>> xt = sched.add_noise(x0, eps, torch.tensor([0, 99]))
    >>> sched.step(eps[:1], 99, xt[1:]).prev_sample.shape
    torch.Size([1, 1, 4, 4])
    """

    def __init__(self, schedule: str | Schedule | Tensor = "linear",
                 num_train_timesteps: int = 1000, *,
                 variance_type: Literal["fixed_small", "fixed_large",
                                        "learned_range"] = "fixed_small",
                 prediction_type: Literal["epsilon", "sample", "v_prediction"] = "epsilon",
                 clip_sample: float | None = 1.0, **schedule_options):
        if isinstance(schedule, Schedule):
            self.schedule = schedule
        elif isinstance(schedule, Tensor):
            self.schedule = derive(schedule)
        else:
            self.schedule = make_schedule(schedule, num_train_timesteps, **schedule_options)
        self.num_train_timesteps = self.schedule.num_timesteps
        self.variance_type = check_option(variance_type, VARIANCE_TYPES, "variance_type")
        self.prediction_type = check_option(prediction_type, PREDICTION_TYPES,
                                            "prediction_type")
        if clip_sample is not None and not clip_sample > 0:
            raise ValueError(f"clip_sample must be > 0 or None (no clipping), got "
                             f"{clip_sample!r}.")
        self.clip_sample = clip_sample
        self.num_inference_steps: int | None = None
        self.timesteps = torch.arange(self.num_train_timesteps - 1, -1, -1)  # (T,) descending
        self._prev: dict[int, int] | None = None  # None: the full chain, t -> t - 1

    # -- the chain -----------------------------------------------------------------------------
    def set_timesteps(self, num_inference_steps: int, device: torch.device | str = "cpu") -> None:
        """Sample with ``num_inference_steps`` evenly spaced timesteps (diffusers' "leading"
        spacing): ``t = k * (T // n)`` for ``k = n-1 .. 0``."""
        n = check_positive_int(num_inference_steps, "num_inference_steps")
        if n > self.num_train_timesteps:
            raise ValueError(f"num_inference_steps={n} exceeds num_train_timesteps="
                             f"{self.num_train_timesteps}; use at most that many steps.")
        ratio = self.num_train_timesteps // n
        self.num_inference_steps = n
        self.timesteps = (torch.arange(n - 1, -1, -1) * ratio).to(device)  # (n,) descending
        ts = self.timesteps.tolist()
        self._prev = dict(zip(ts, ts[1:] + [-1]))

    def previous_timestep(self, t: int) -> int:
        """The timestep after ``t`` in the chain (``-1`` after the last)."""
        t = self._check_t(t)
        if self._prev is None:
            return t - 1
        if t not in self._prev:
            raise ValueError(f"timestep t={t} is not in the chain set by set_timesteps("
                             f"{self.num_inference_steps}); step through scheduler.timesteps.")
        return self._prev[t]

    def _check_t(self, t) -> int:
        if isinstance(t, Tensor):
            if t.numel() != 1 or t.is_floating_point():
                raise ValueError(f"t must be one integer timestep, got a tensor of shape "
                                 f"{tuple(t.shape)} and dtype {t.dtype}.")
            t = int(t)
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < self.num_train_timesteps:
            raise ValueError(f"timestep t={t!r} is outside [0, {self.num_train_timesteps}); "
                             f"timesteps are 0-based, t = T - 1 is the noisiest.")
        return t

    def _check_batch_t(self, t, x: Tensor, name: str = "t") -> Tensor:
        t = torch.as_tensor(t, device=x.device)
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer timesteps, got dtype {t.dtype}.")
        t = t.reshape(-1)
        if t.numel() not in (1, x.size(0)):
            raise ValueError(f"{name} has {t.numel()} timesteps for a batch of {x.size(0)}; "
                             "give one per sample (B,) or one for all.")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.num_train_timesteps):
            raise ValueError(f"{name} holds timesteps in [{int(t.min())}, {int(t.max())}], "
                             f"outside [0, {self.num_train_timesteps}).")
        return t.expand(x.size(0)) if t.numel() == 1 else t

    def _check_noise(self, x0: Tensor, noise: Tensor, t) -> Tensor:
        """``t`` as ``(B,)`` after checking that ``noise`` has the shape of ``x0``."""
        if not isinstance(noise, Tensor) or noise.shape != x0.shape:
            raise ValueError(f"noise must have the shape of x0 {tuple(x0.shape)}, got "
                             f"{tuple(getattr(noise, 'shape', ()))}.")
        return self._check_batch_t(t, x0)

    def _coefficients(self, t: int, prev: int) -> tuple[Tensor, Tensor]:
        """:math:`\\bar\\alpha_t` and :math:`\\bar\\alpha_{t'}` (``1`` after the last step)."""
        abar = self.schedule.alphas_cumprod
        return abar[t], abar[prev] if prev >= 0 else abar.new_tensor(1.0)

    # -- the forward process -------------------------------------------------------------------
    def add_noise(self, x0: Tensor, noise: Tensor, t) -> Tensor:
        r""":math:`x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \epsilon`, a
        timestep per sample."""
        t = self._check_noise(x0, noise, t)
        s = self.schedule
        return (_per_sample(s.sqrt_alphas_cumprod, t, x0) * x0
                + _per_sample(s.sqrt_one_minus_alphas_cumprod, t, x0) * noise)

    def velocity(self, x0: Tensor, noise: Tensor, t) -> Tensor:
        r"""The v-prediction target :math:`v = \sqrt{\bar\alpha_t}\epsilon - \sqrt{1 -
        \bar\alpha_t} x_0`."""
        t = self._check_noise(x0, noise, t)
        s = self.schedule
        return (_per_sample(s.sqrt_alphas_cumprod, t, x0) * noise
                - _per_sample(s.sqrt_one_minus_alphas_cumprod, t, x0) * x0)

    def target(self, x0: Tensor, noise: Tensor, t) -> Tensor:
        """What the model learns to predict under ``prediction_type``."""
        if self.prediction_type == "epsilon":
            return noise
        if self.prediction_type == "sample":
            return x0
        return self.velocity(x0, noise, t)

    # -- the reverse step ----------------------------------------------------------------------
    def _split(self, model_output: Tensor, x_t: Tensor) -> tuple[Tensor, Tensor | None]:
        if not isinstance(model_output, Tensor) or not isinstance(x_t, Tensor):
            raise TypeError("model_output and x_t must be tensors.")
        if self.variance_type == "learned_range":
            want = (x_t.size(0), 2 * x_t.size(1), *x_t.shape[2:])
            if tuple(model_output.shape) != want:
                raise ValueError(f"variance_type='learned_range' needs model_output of shape "
                                 f"{want} (the prediction, then the variance interpolation "
                                 f"channels), got {tuple(model_output.shape)}.")
            return model_output.split(x_t.size(1), dim=1)
        if model_output.shape != x_t.shape:
            raise ValueError(f"model_output must have the shape of x_t {tuple(x_t.shape)}, got "
                             f"{tuple(model_output.shape)}.")
        return model_output, None

    def _x0_eps(self, out: Tensor, x_t: Tensor, abar_t: Tensor) -> tuple[Tensor, Tensor]:
        """:math:`\\hat x_0` (unclipped) and :math:`\\hat\\epsilon` from the model output."""
        beta_prod = 1 - abar_t
        if self.prediction_type == "epsilon":
            return (x_t - beta_prod ** 0.5 * out) / abar_t ** 0.5, out
        if self.prediction_type == "sample":
            return out, (x_t - abar_t ** 0.5 * out) / beta_prod ** 0.5
        return (abar_t ** 0.5 * x_t - beta_prod ** 0.5 * out,
                abar_t ** 0.5 * out + beta_prod ** 0.5 * x_t)

    def _clip(self, x0: Tensor) -> Tensor:
        return x0 if self.clip_sample is None else x0.clamp(-self.clip_sample, self.clip_sample)

    @staticmethod
    def _noise(x: Tensor, generator: torch.Generator | None) -> Tensor:
        device = x.device if generator is None else generator.device
        return torch.randn(x.shape, generator=generator, device=device,
                           dtype=x.dtype).to(x.device)

    def step(self, model_output: Tensor, t: int, x_t: Tensor,
             generator: torch.Generator | None = None) -> StepOutput:
        """One ancestral DDPM step from ``x_t`` to the previous timestep of the chain."""
        out, v = self._split(model_output, x_t)
        t = self._check_t(t)
        prev = self.previous_timestep(t)
        abar_t, abar_prev = self._coefficients(t, prev)
        alpha, beta = abar_t / abar_prev, 1 - abar_t / abar_prev
        x0 = self._clip(self._x0_eps(out, x_t, abar_t)[0])
        mean = ((abar_prev ** 0.5 * beta) / (1 - abar_t) * x0
                + alpha ** 0.5 * (1 - abar_prev) / (1 - abar_t) * x_t)  # posterior mean, eq. 7
        if t == 0:
            return StepOutput(mean, x0)
        small = ((1 - abar_prev) / (1 - abar_t) * beta).clamp(min=1e-20)  # \tilde\beta
        z = self._noise(x_t, generator)
        if self.variance_type == "fixed_small":
            sigma = small ** 0.5
        elif self.variance_type == "fixed_large":
            sigma = beta ** 0.5
        else:  # learned_range: log-variance interpolated between log(tilde beta) and log(beta)
            frac = (v + 1) / 2
            sigma = torch.exp(0.5 * (frac * torch.log(beta) + (1 - frac) * torch.log(small)))
        return StepOutput(mean + sigma * z, x0)


class DDIMScheduler(DDPMScheduler):
    """DDIM steps (module docstring) over the same schedule; ``eta`` scales the noise
    (``0``: deterministic, ``1``: DDPM). Call :meth:`set_timesteps` for a short chain
    (50 or 100 steps); ``variance_type="learned_range"`` only drops the variance channels.

    >>> sched = DDIMScheduler("linear", 1000)
    >>> sched.set_timesteps(50)
    >>> sched.timesteps[:3].tolist()
    [980, 960, 940]
    """

    def __init__(self, schedule: str | Schedule | Tensor = "linear",
                 num_train_timesteps: int = 1000, *, eta: float = 0.0, **options):
        super().__init__(schedule, num_train_timesteps, **options)
        self.eta = self._check_eta(eta)

    @staticmethod
    def _check_eta(eta: float) -> float:
        if not isinstance(eta, (int, float)) or eta < 0:
            raise ValueError(f"eta must be a number >= 0 (0: DDIM, 1: DDPM), got {eta!r}.")
        return float(eta)

    def step(self, model_output: Tensor, t: int, x_t: Tensor,
             generator: torch.Generator | None = None, *, eta: float | None = None) -> StepOutput:
        """One DDIM step from ``x_t`` to the previous timestep of the chain."""
        eta = self.eta if eta is None else self._check_eta(eta)
        out, _ = self._split(model_output, x_t)
        t = self._check_t(t)
        prev = self.previous_timestep(t)
        abar_t, abar_prev = self._coefficients(t, prev)
        x0, eps = self._x0_eps(out, x_t, abar_t)
        x0 = self._clip(x0)
        variance = (1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)  # \tilde\beta
        std = eta * variance ** 0.5
        x_prev = abar_prev ** 0.5 * x0 + (1 - abar_prev - std ** 2) ** 0.5 * eps
        if eta > 0:
            x_prev = x_prev + std * self._noise(x_t, generator)
        return StepOutput(x_prev, x0)

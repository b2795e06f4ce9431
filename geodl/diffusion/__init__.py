"""Diffusion models: beta schedules, schedulers and samplers (the network is an argument).

- :mod:`~geodl.diffusion.schedules`: ``linear``, ``scaled_linear`` and ``cosine`` betas as pure
  functions and their derived quantities (:class:`Schedule`), computed once.
- :mod:`~geodl.diffusion.scheduler`: :class:`DDPMScheduler` (forward process, ancestral step
  with fixed-small / fixed-large / learned-range variance, epsilon / sample / v prediction) and
  :class:`DDIMScheduler` (``eta``); both hold state, never the network.
- :mod:`~geodl.diffusion.sampling`: the sampling loop with classifier-free guidance and
  spherical noise interpolation, for any ``model(x_t, t, labels)``.
"""

from geodl.diffusion.sampling import guided_output, interpolate, sample, slerp
from geodl.diffusion.scheduler import DDIMScheduler, DDPMScheduler, StepOutput
from geodl.diffusion.schedules import (
    SCHEDULES,
    Schedule,
    cosine_betas,
    derive,
    linear_betas,
    make_schedule,
    scaled_linear_betas,
)

__all__ = [
    "linear_betas", "scaled_linear_betas", "cosine_betas", "SCHEDULES", "Schedule", "derive",
    "make_schedule", "DDPMScheduler", "DDIMScheduler", "StepOutput",
    "sample", "guided_output", "slerp", "interpolate",
]

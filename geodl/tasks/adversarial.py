"""Adversarial objectives on the one :func:`~geodl.tasks.fit` loop: GAN, WGAN, WGAN-GP.

:class:`AdversarialTask` trains a :class:`~geodl.models.GAN` by manual optimisation (see
:mod:`geodl.tasks.loop`): every batch is one critic update, every ``n_critic``-th batch is
also one generator update (the step counter is task state, so a resumed run continues the
same schedule). With critic scores :math:`D`, real images :math:`x` and fakes
:math:`\\tilde x = G(z)`:

- ``"gan"`` (Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661), the non-saturating
  form: :math:`L_D = -\\log\\sigma(D(x)) - \\log(1 - \\sigma(D(\\tilde x)))`,
  :math:`L_G = -\\log\\sigma(D(\\tilde x))`; Adam(2e-4, betas (0.5, 0.999)), ``n_critic = 1``.
- ``"wgan"`` (Arjovsky et al. 2017, https://arxiv.org/abs/1701.07875):
  :math:`L_D = D(\\tilde x) - D(x)`, :math:`L_G = -D(\\tilde x)`, critic weights clipped to
  ``[-clip, clip]`` after each update; RMSprop(5e-5), ``n_critic = 5``, ``clip = 0.01``.
- ``"wgan-gp"`` (Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028): the WGAN losses
  plus :math:`\\lambda\\,\\mathbb E_{\\hat x}(\\lVert\\nabla_{\\hat x} D(\\hat x)\\rVert_2 - 1)^2`
  on random interpolates :math:`\\hat x = \\epsilon x + (1 - \\epsilon)\\tilde x`,
  :math:`\\epsilon \\sim U[0, 1]` per image (:func:`gradient_penalty`); ``lambda = 10``,
  ``n_critic = 5``, Adam(1e-4, betas (0, 0.9)); the critic must not use batch norm.

Real images in ``[0, 1]`` are scaled to the generator's ``[-1, 1]``. A conditional GAN
(``conditional=True``) gives the generator the real batch's labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.validation import check_option
from geodl.tasks.generative import ImageBatches
from geodl.tasks.image_quality import classifier_accuracy, frechet_distance

__all__ = ["AdversarialTask", "gradient_penalty", "gan_losses", "wgan_losses",
           "ADVERSARIAL_DEFAULTS"]

Loss = Literal["gan", "wgan", "wgan-gp"]
# the papers' settings: optimizer, learning rate, betas, n_critic
ADVERSARIAL_DEFAULTS = {"gan": ("adam", 2e-4, (0.5, 0.999), 1),
                        "wgan": ("rmsprop", 5e-5, None, 5),
                        "wgan-gp": ("adam", 1e-4, (0.0, 0.9), 5)}


def gan_losses(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """The non-saturating GAN's ``(critic loss, generator loss)`` from logits (batch means).

    >>> d, g = gan_losses(torch.zeros(2), torch.zeros(2))  # D = 1/2 everywhere
    >>> round(float(d), 4), round(float(g), 4)  # 2 log 2, log 2
    (1.3863, 0.6931)
    """
    d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
         + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    g = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return d, g


def wgan_losses(real_scores: Tensor, fake_scores: Tensor) -> tuple[Tensor, Tensor]:
    """The WGAN's ``(critic loss, generator loss)``: ``mean D(fake) - mean D(real)``,
    ``-mean D(fake)``."""
    return fake_scores.mean() - real_scores.mean(), -fake_scores.mean()


def gradient_penalty(critic: Callable[..., Tensor], real: Tensor, fake: Tensor,
                     y: Tensor | None = None, eps: Tensor | None = None) -> Tensor:
    """``mean_i (||grad_x D(x_hat_i)||_2 - 1)^2`` on ``x_hat = eps real + (1 - eps) fake``.

    Differentiable in the critic's parameters (``create_graph=True``).

    Args:
        critic: ``critic(x, y) -> (B,)`` scores.
        eps: ``(B,)`` mixing weights; default ``U[0, 1]`` (global RNG).

    Shapes:
        real, fake ``(B, C, H, W)`` -> scalar
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ.")
    b = real.size(0)
    if eps is None:
        eps = torch.rand(b, device=real.device, dtype=real.dtype)
    eps = eps.view(b, *[1] * (real.dim() - 1))
    with torch.enable_grad():  # also under no_grad (a validation pass)
        x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
        scores = critic(x_hat, y)
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class AdversarialTask(ImageBatches):
    """Train a :class:`~geodl.models.GAN` with the ``loss`` of the module docstring.

    Args:
        images, labels: the real set (float ``(N, C, H, W)`` in ``[0, 1]``).
        loss: ``"gan"``, ``"wgan"`` or ``"wgan-gp"``.
        n_critic: critic updates per generator update (default: the paper's, 1 or 5).
        lr_g, lr_d, betas: learning rates and Adam betas (default: the paper's).
        clip: WGAN's weight-clipping bound.
        gp_lambda: WGAN-GP's penalty weight.
        features: image features for the validation Frechet distance (``val_images`` must
            be given); ``val_samples`` generated images are compared with them.
        classifier: with ``conditional=True``, also reports ``acc``, the share of samples it
            assigns to the requested class.
        other arguments: as :class:`~geodl.tasks.generative.ImageBatches`.

    Metrics: ``frechet`` (monitored, ``min``) and ``acc``; without ``features`` there is no
    validation (pass ``restore_best=False`` to :func:`fit`). ``train_step`` reports ``loss``
    (the critic's), ``g_loss`` and, for the WGANs, ``wasserstein`` (``mean D(x) - mean D(G(z))``).
    """

    monitor, mode = "frechet", "min"

    def __init__(self, images: Tensor, labels: Tensor | None = None, *, loss: Loss = "wgan-gp",
                 n_critic: int | None = None, lr_g: float | None = None,
                 lr_d: float | None = None, betas: tuple[float, float] | None = None,
                 clip: float = 0.01, gp_lambda: float = 10.0,
                 features: Callable[[Tensor], Tensor] | None = None,
                 classifier: nn.Module | None = None, val_samples: int = 1000, **options):
        super().__init__(images, labels, **options)
        self.loss = check_option(loss, list(ADVERSARIAL_DEFAULTS), "loss")
        kind, lr, default_betas, default_n = ADVERSARIAL_DEFAULTS[loss]
        self.n_critic = default_n if n_critic is None else n_critic
        if not isinstance(self.n_critic, int) or self.n_critic < 1:
            raise ValueError(f"n_critic={n_critic!r} must be an integer >= 1 (critic updates "
                             "per generator update; WGAN-GP uses 5).")
        if not gp_lambda >= 0:
            raise ValueError(f"gp_lambda={gp_lambda} must be >= 0 (WGAN-GP uses 10).")
        if not clip > 0:
            raise ValueError(f"clip={clip} must be > 0 (WGAN clips to [-0.01, 0.01]).")
        for name, value in (("lr_g", lr_g), ("lr_d", lr_d)):
            if value is not None and not value > 0:
                raise ValueError(f"{name}={value} must be > 0.")
        self.kind, self.lr_g, self.lr_d = kind, lr_g or lr, lr_d or lr
        self.betas = betas if betas is not None else default_betas
        self.clip, self.gp_lambda, self.steps = clip, gp_lambda, 0
        self.features, self.classifier, self.val_samples = features, classifier, val_samples

    def has_split(self, split: str) -> bool:
        return split == "train" or (split == "val" and self.features is not None
                                    and self.val_images is not None)

    def configure_optimizers(self, model: nn.Module) -> dict[str, torch.optim.Optimizer]:
        def make(params, lr):
            if self.kind == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr)
            return torch.optim.Adam(params, lr=lr, betas=self.betas)

        return {"generator": make(model.generator.parameters(), self.lr_g),
                "critic": make(model.critic.parameters(), self.lr_d)}

    def _losses(self, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        return (gan_losses if self.loss == "gan" else wgan_losses)(real, fake)

    def train_step(self, model: nn.Module, idx: Tensor, optimizers) -> dict[str, Tensor]:
        real, y = self.batch(idx)
        real = 2 * real - 1  # [0, 1] -> the generator's [-1, 1]
        opt_d, opt_g = optimizers["critic"], optimizers["generator"]
        with torch.no_grad():
            fake = model.generator(model.noise(len(real)), y)
        s_real, s_fake = model.critic(real, y), model.critic(fake, y)
        d_loss, _ = self._losses(s_real, s_fake)
        out = {"loss": d_loss.detach()}
        if self.loss == "wgan-gp":
            gp = gradient_penalty(model.critic, real, fake, y)
            d_loss = d_loss + self.gp_lambda * gp
            out.update(loss=d_loss.detach(), gp=gp.detach())
        if self.loss != "gan":
            out["wasserstein"] = (s_real.mean() - s_fake.mean()).detach()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if self.loss == "wgan":
            with torch.no_grad():
                for p in model.critic.parameters():
                    p.clamp_(-self.clip, self.clip)
        self.steps += 1
        if self.steps % self.n_critic == 0:
            _, g_loss = self._losses(s_real.detach(),
                                     model.critic(model.generator(model.noise(len(real)), y), y))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            out["g_loss"] = g_loss.detach()
        return out

    def state_dict(self) -> dict[str, int]:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.steps = int(state["steps"])

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        real, labels = self.split(split)
        n = min(self.val_samples, len(real))
        y = labels[:n] if labels is not None else None
        chunks = torch.arange(n, device=real.device).split(500)
        fake = torch.cat([model.sample(len(ix), None if y is None else y[ix]) for ix in chunks])
        out = {"frechet": frechet_distance(real[:n], fake, self.features)}
        if self.classifier is not None and y is not None:
            out["acc"] = classifier_accuracy(self.classifier, fake, y)
        return out

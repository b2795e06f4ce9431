r"""A CLIP-style contrastive image-text model (`Radford et al. 2021, "Learning Transferable
Visual Models From Natural Language Supervision" <https://arxiv.org/abs/2103.00020>`_).

Two encoders map into one space, each a message-passing stack on its own graph:

- images: a :class:`~geodl.models.ViT` on the patch grid graph (its patches attend on a complete
  graph; the class token's head is the projection), or a :class:`~geodl.models.CNN` on the
  pixel grid graph (its dense head is the projection);
- captions: a transformer on the caption's causal complete graph (token ``i`` hears ``j <= i``,
  as in CLIP's text tower), read at the ``<eos>`` token, then a linear projection.

.. math::
    u_i = \frac{f(x_i)}{\lVert f(x_i) \rVert}, \quad v_j = \frac{g(t_j)}{\lVert g(t_j) \rVert},
    \quad \mathrm{logits}_{ij} = s\, u_i^\top v_j, \quad s = \min(e^{\theta}, 100),\
    \theta_0 = \log(1/0.07)

(open_clip's learnable temperature). The symmetric InfoNCE objective on these logits is
:func:`geodl.tasks.dalle.contrastive_loss`. Zero-shot classification embeds one prompt per class
("a sneaker") and picks the most similar; the CLIP score of an (image, caption) pair is
``100 * max(cos, 0)`` (Hessel et al. 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph import complete_graph
from geodl.graph.validation import check_option, check_positive_int
from geodl.models.cnn import CNN, CNNConfig
from geodl.models.transformer import ViT, ViTConfig
from geodl.nn.positional import LearnedPE
from geodl.nn.transformer import TransformerEncoder

__all__ = ["CLIPConfig", "CLIP", "TextEncoder"]


@dataclass
class CLIPConfig:
    """Hyper-parameters of :class:`CLIP`.

    Args:
        vocab_size, context: caption vocabulary and tokens per caption (``<eos>`` included).
        image_size, in_channels, patch_size: the images and the ViT's patches.
        image_encoder: ``"vit"`` or ``"cnn"``.
        embed_dim: the shared space; width, n_layer, n_head: of both transformers.
        pad_id: the padding id (the ``<eos>`` is the last non-padding token).
    """

    vocab_size: int
    context: int = 12
    image_size: tuple[int, int] = (28, 56)
    in_channels: int = 3
    patch_size: int = 7
    image_encoder: Literal["vit", "cnn"] = "vit"
    embed_dim: int = 64
    width: int = 64
    n_layer: int = 2
    n_head: int = 4
    pad_id: int = 0

    def __post_init__(self):
        check_positive_int(self.vocab_size, "vocab_size")
        check_positive_int(self.context, "context")
        check_positive_int(self.embed_dim, "embed_dim")
        check_option(self.image_encoder, ["vit", "cnn"], "image_encoder")


class TextEncoder(nn.Module):
    """Token + learned position embeddings, pre-norm blocks on ``complete_graph(T,
    causal=True)``, the feature of each caption's last non-padding token, a projection.

    Shapes:
        tokens ``(B, T)`` -> ``(B, out)``
    """

    def __init__(self, vocab_size: int, context: int, width: int, n_layer: int, n_head: int,
                 out: int, pad_id: int = 0):
        super().__init__()
        self.context, self.pad_id = context, pad_id
        self.tok = nn.Embedding(vocab_size, width)
        self.pos = LearnedPE(width, context)
        self.encoder = TransformerEncoder(n_layer, width, n_head, 4 * width, final_norm=True)
        self.proj = nn.Linear(width, out, bias=False)

    def forward(self, tokens: Tensor) -> Tensor:
        B, T = tokens.shape
        if T > self.context:
            raise ValueError(f"tokens have length {T} > the text context {self.context}; "
                             "encode the captions with this context.")
        h = self.tok(tokens) + self.pos(torch.arange(T, device=tokens.device))  # (B, T, W)
        h = self.encoder(h.reshape(B * T, -1), complete_graph(T, causal=True, batch_size=B))
        last = ((tokens != self.pad_id).sum(1) - 1).clamp(min=0)  # (B,) the <eos> position
        return self.proj(h.view(B, T, -1)[torch.arange(B, device=tokens.device), last])


class CLIP(nn.Module):
    """Image and text encoders into one normalised space with a learnable temperature.

    Shapes:
        images ``(B, C, H, W)``, tokens ``(B', T)`` -> logits ``(B, B')``
        (``logits[i, j] = s * cos(image_i, caption_j)``).

    >>> clip = CLIP(CLIPConfig(vocab_size=9, context=4, image_size=(8, 16), patch_size=4,
    ...                        embed_dim=8, width=8, n_layer=1, n_head=2))
    >>> clip(torch.rand(3, 3, 8, 16), torch.tensor([[2, 1, 0, 0]] * 3)).shape
    torch.Size([3, 3])
    >>> round(float(clip.scale().detach()), 4)  # 1 / 0.07
    14.2857
    """

    def __init__(self, config: CLIPConfig | None = None, **kwargs):
        super().__init__()
        self.config = c = config if config is not None else CLIPConfig(**kwargs)
        if c.image_encoder == "vit":
            self.image_encoder = ViT(ViTConfig(
                image_size=c.image_size, patch_size=c.patch_size, in_channels=c.in_channels,
                num_classes=c.embed_dim, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.width))
        else:
            self.image_encoder = CNN(CNNConfig(in_channels=c.in_channels,
                                               num_classes=c.embed_dim, channels=(32, 64),
                                               image_size=tuple(c.image_size), hidden=c.width))
        self.text_encoder = TextEncoder(c.vocab_size, c.context, c.width, c.n_layer, c.n_head,
                                        c.embed_dim, c.pad_id)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def scale(self) -> Tensor:
        """``exp(logit_scale)`` clamped at 100 (open_clip)."""
        return self.logit_scale.exp().clamp(max=100.0)

    def encode_image(self, images: Tensor) -> Tensor:
        """Unit image embeddings ``(B, embed_dim)``."""
        return F.normalize(self.image_encoder(images), dim=-1)

    def encode_text(self, tokens: Tensor) -> Tensor:
        """Unit caption embeddings ``(B, embed_dim)``."""
        return F.normalize(self.text_encoder(tokens), dim=-1)

    def forward(self, images: Tensor, tokens: Tensor) -> Tensor:
        return self.scale() * self.encode_image(images) @ self.encode_text(tokens).t()

    @torch.no_grad()
    def score(self, images: Tensor, tokens: Tensor) -> Tensor:
        """CLIP score ``100 * max(cos, 0)`` of each pair ``(images[i], tokens[i])``: ``(B,)``."""
        cos = (self.encode_image(images) * self.encode_text(tokens)).sum(-1)
        return 100 * cos.clamp(min=0)

    @torch.no_grad()
    def zero_shot(self, images: Tensor, prompts: Tensor) -> Tensor:
        """The index of the most similar prompt ``(K, T)`` for each image: ``(B,)``."""
        return (self.encode_image(images) @ self.encode_text(prompts).t()).argmax(-1)

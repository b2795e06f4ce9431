r"""A mini DALL-E (`Ramesh et al. 2021, "Zero-Shot Text-to-Image Generation"
<https://arxiv.org/abs/2102.12092>`_): a GPT that writes image tokens after caption tokens.

DALL-E's three phases on one stack:

1. an image tokenizer, :class:`~geodl.models.VQVAE` or :class:`~geodl.models.DVAE`: a
   ``28 x 56`` image becomes ``7 x 14 = 98`` tokens of a ``K``-code codebook;
2. this transformer: a :class:`~geodl.models.GPT` over the sequence
   ``[caption tokens; image tokens]`` (one shared vocabulary, image token ``k`` has id
   ``text_vocab + k``) on the causal complete graph ``complete_graph(L + n, causal=True)`` with
   the SDPA fast path, trained with cross-entropy on the image tokens only:

   .. math::
       \mathcal L = -\frac1n \sum_{i=1}^{n} \log p(c_i \mid t_1..t_L, c_1..c_{i-1});

3. sampling with temperature / top-k (restricted to the image vocabulary), decoding the tokens
   with the tokenizer's decoder, and :func:`rerank`: CLIP keeps the best of ``N`` candidates
   per caption.

The caption is padded to ``L`` tokens (as DALL-E pads to 256); the causal mask means an image
token never hears a later one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.validation import check_positive_int
from geodl.models.transformer import GPT, GPTConfig

__all__ = ["DALLEConfig", "DALLE", "rerank"]


@dataclass
class DALLEConfig:
    """Caption vocabulary and length, image codebook and tokens per image, the GPT's size."""

    text_vocab: int
    text_len: int = 12
    image_vocab: int = 64
    image_tokens: int = 98
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("text_vocab", "text_len", "image_vocab", "image_tokens"):
            check_positive_int(getattr(self, name), name)


class DALLE(nn.Module):
    """The text-to-image transformer.

    Shapes:
        text ``(B, L)`` caption ids, image ``(B, n)`` codes -> logits ``(B, n, K)``: row ``i``
        predicts image token ``i`` from the caption and the image tokens before it.

    >>> model = DALLE(DALLEConfig(text_vocab=9, text_len=4, image_vocab=5, image_tokens=6,
    ...                           n_layer=1, n_head=2, n_embd=8))
    >>> model(torch.randint(9, (2, 4)), torch.randint(5, (2, 6))).shape
    torch.Size([2, 6, 5])
    >>> model.generate(torch.randint(9, (2, 4)), generator=torch.Generator().manual_seed(0)).shape
    torch.Size([2, 6])
    """

    def __init__(self, config: DALLEConfig | None = None, **kwargs):
        super().__init__()
        self.config = c = config if config is not None else DALLEConfig(**kwargs)
        self.gpt = GPT(GPTConfig(block_size=c.text_len + c.image_tokens,
                                 vocab_size=c.text_vocab + c.image_vocab, n_layer=c.n_layer,
                                 n_head=c.n_head, n_embd=c.n_embd, dropout=c.dropout))

    def _check_text(self, text: Tensor) -> None:
        c = self.config
        if text.dim() != 2 or text.size(1) != c.text_len:
            raise ValueError(f"text has shape {tuple(text.shape)}; give (B, {c.text_len}) "
                             f"caption ids (CaptionVocab.encode with context={c.text_len}).")
        if text.numel() and (int(text.min()) < 0 or int(text.max()) >= c.text_vocab):
            raise ValueError(f"text ids must lie in [0, {c.text_vocab}), got "
                             f"[{int(text.min())}, {int(text.max())}].")

    def forward(self, text: Tensor, image: Tensor) -> Tensor:
        c = self.config
        self._check_text(text)
        if image.dim() != 2 or image.size(1) != c.image_tokens or image.size(0) != text.size(0):
            raise ValueError(f"image has shape {tuple(image.shape)}; give ({text.size(0)}, "
                             f"{c.image_tokens}) codes (the tokenizer's encode).")
        seq = torch.cat([text, image + c.text_vocab], 1)[:, :-1]  # (B, L + n - 1)
        logits = self.gpt(seq)  # (B, L + n - 1, V_text + K)
        return logits[:, c.text_len - 1:, c.text_vocab:]  # (B, n, K)

    @torch.no_grad()
    def generate(self, text: Tensor, *, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        """Sample image tokens ``(B, n)`` after the captions ``text (B, L)``, one token at a
        time; the same ``generator`` state gives the same tokens."""
        c = self.config
        self._check_text(text)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        if top_k is not None:
            check_positive_int(top_k, "top_k")
        seq = text
        for _ in range(c.image_tokens):
            logits = self.gpt(seq)[:, -1, c.text_vocab:] / temperature  # (B, K)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, c.image_vocab)).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(F.softmax(logits, -1), 1, generator=generator)  # (B, 1)
            seq = torch.cat([seq, nxt + c.text_vocab], 1)
        return seq[:, c.text_len:] - c.text_vocab  # (B, n)

    @torch.no_grad()
    def sample_images(self, text: Tensor, tokenizer: nn.Module, candidates: int = 1,
                      **sampling) -> Tensor:
        """``candidates`` decoded images per caption: ``(B, candidates, C, H, W)``."""
        check_positive_int(candidates, "candidates")
        b = text.size(0)
        tokens = self.generate(text.repeat_interleave(candidates, 0), **sampling)  # (B*N, n)
        images = tokenizer.decode(tokens)  # (B*N, C, H, W)
        return images.view(b, candidates, *images.shape[1:])


@torch.no_grad()
def rerank(clip: nn.Module, candidates: Tensor, text: Tensor) -> tuple[Tensor, Tensor]:
    """CLIP re-ranking: the candidate most similar to its caption, and all scores.

    Shapes:
        candidates ``(B, N, C, H, W)``, text ``(B, T)`` -> best ``(B, C, H, W)``,
        scores ``(B, N)`` (cosine similarities)
    """
    b, n = candidates.shape[:2]
    img = clip.encode_image(candidates.flatten(0, 1)).view(b, n, -1)  # (B, N, E)
    txt = clip.encode_text(text)  # (B, E)
    scores = (img * txt[:, None]).sum(-1)  # (B, N)
    best = scores.argmax(1)
    return candidates[torch.arange(b, device=candidates.device), best], scores

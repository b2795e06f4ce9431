r"""Transformer models as message passing on complete graphs: GPT, BERT, ViT, encoder-decoder.

Every model is token embeddings + positions, then :class:`~geodl.nn.transformer.TransformerEncoder`
(or :class:`~geodl.nn.transformer.TransformerDecoder`) blocks on a complete graph over the
tokens of each sequence, then a head. Only the graph differs:

=====================  =====================================================================
model                  graph the attention runs on (``B`` sequences of ``n`` tokens)
=====================  =====================================================================
:class:`GPT`           ``complete_graph(n, causal=True, batch_size=B)``: token ``i`` hears
                       ``j <= i`` (the decoder's mask is this DAG)
:class:`BERT`          ``complete_graph(n, batch_size=B)`` minus the edges out of padding
                       (``key_padding_mask``)
:class:`ViT`           the patches are the nodes of ``grid_graph(H/p, W/p)``; with a class
                       token they form ``complete_graph(1 + HW/p^2, batch_size=B)``
:class:`Transformer`   encoder: complete graph over the source; decoder: causal complete graph
                       over the target + the bipartite complete graph source -> target
=====================  =====================================================================

Node features are node-major: a ``(B, n, E)`` batch is ``x = h.reshape(B * n, E)`` (no copy),
and the complete-graph tag sends attention to the fused kernel
:func:`~torch.nn.functional.scaled_dot_product_attention`.
Hyper-parameters are small dataclasses, nanoGPT-style.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph import complete_graph, grid_graph
from geodl.graph.validation import check_option, check_positive_int
from geodl.nn.positional import LearnedPE, SinusoidalPE
from geodl.nn.transformer import TransformerDecoder, TransformerEncoder

__all__ = ["GPTConfig", "GPT", "BertConfig", "BERT", "ViTConfig", "ViT", "TransformerConfig",
           "Transformer"]


def _check_heads(n_embd: int, n_head: int) -> None:
    check_positive_int(n_embd, "n_embd")
    check_positive_int(n_head, "n_head")
    if n_embd % n_head:
        raise ValueError(f"n_head={n_head} must divide n_embd={n_embd}; e.g. n_embd="
                         f"{n_head * max(1, n_embd // n_head)}.")


def _config(cls, config, kwargs):
    """``config``, or ``cls(**kwargs)`` when it is None (never both)."""
    if config is None:
        return cls(**kwargs)
    if kwargs:
        raise TypeError(f"pass either a {cls.__name__} or keyword arguments, not both "
                        f"(got config and {sorted(kwargs)}).")
    return config


def _init_gpt2(model: nn.Module, n_layer: int) -> None:
    """GPT-2's initialisation (nanoGPT's ``_init_weights``): weights N(0, 0.02), biases 0, and
    the projections into the residual stream (``out_proj``, ``linear2``) N(0, 0.02 / sqrt(2L))."""
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            nn.init.zeros_(p)
        elif p.dim() >= 2:
            std = 0.02
            if name.endswith(("out_proj.weight", "linear2.weight")):
                std = 0.02 / math.sqrt(2 * n_layer)
            nn.init.normal_(p, 0.0, std)


def _check_length(n: int, max_len: int, what: str) -> None:
    if n > max_len:
        raise ValueError(f"{what} has length {n} > the model's maximum {max_len}; crop it or "
                         f"build the model with a larger block_size / max_len.")


# -- GPT ------------------------------------------------------------------------------------
@dataclass
class GPTConfig:
    """nanoGPT's ``GPTConfig``: context length, vocabulary, depth, heads, width, dropout, bias."""

    block_size: int = 256
    vocab_size: int = 65
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        check_positive_int(self.block_size, "block_size")
        check_positive_int(self.vocab_size, "vocab_size")
        check_positive_int(self.n_layer, "n_layer")
        _check_heads(self.n_embd, self.n_head)


class GPT(nn.Module):
    r"""A decoder-only language model (GPT-2, `Radford et al. 2019
    <https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf>`_)
    as causal attention on the DAG ``complete_graph(T, causal=True)``.

    .. math::
        H_0 = W_{te}[\mathrm{idx}] + W_{pe}[0..T-1], \quad
        H = \mathrm{LN}(\mathrm{Block}_L \cdots \mathrm{Block}_1(H_0)), \quad
        \mathrm{logits} = H W_{te}^\top

    Pre-norm GELU blocks (:class:`~geodl.nn.transformer.TransformerEncoder` on the causal
    complete graph), weight tying between token embedding and output, GPT-2 initialisation:
    the same network as nanoGPT's ``model.py`` (the benchmark ``benchmarks/gpt_shakespeare.py``
    copies the weights across and checks equal logits). With ``dropout > 0`` one site differs:
    :class:`~geodl.nn.transformer.TransformerLayer` also drops inside the MLP, after the GELU.

    Args:
        config: a :class:`GPTConfig` (or its fields as keyword arguments).

    Shapes:
        idx ``(B, T)`` long, ``T <= block_size``; out ``(B, T, vocab_size)``.

    >>> model = GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=8))
    >>> model(torch.randint(11, (3, 5))).shape
    torch.Size([3, 5, 11])
    """

    def __init__(self, config: GPTConfig | None = None, **kwargs):
        super().__init__()
        self.config = c = _config(GPTConfig, config, kwargs)
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = LearnedPE(c.n_embd, c.block_size)
        self.drop = nn.Dropout(c.dropout)
        self.encoder = TransformerEncoder(c.n_layer, c.n_embd, c.n_head, 4 * c.n_embd,
                                          dropout=c.dropout, activation="gelu", norm_first=True,
                                          final_norm=True, bias=c.bias)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        _init_gpt2(self, c.n_layer)

    def forward(self, idx: Tensor) -> Tensor:
        B, T = idx.shape
        _check_length(T, self.config.block_size, "idx")
        pos = torch.arange(T, device=idx.device)
        h = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, E)
        g = complete_graph(T, causal=True, batch_size=B)
        h = self.encoder(h.view(B * T, -1), g)  # (B*T, E): node-major tokens
        return self.lm_head(h).view(B, T, -1)  # (B, T, V)

    @torch.no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Sample ``max_new_tokens`` tokens after ``idx (B, T)``, feeding the last
        ``block_size`` tokens back each step (nanoGPT's ``generate``); returns ``(B, T + new)``."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        for _ in range(max_new_tokens):
            logits = self(idx[:, -self.config.block_size:])[:, -1] / temperature  # (B, V)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(F.softmax(logits, -1), 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx


# -- BERT -----------------------------------------------------------------------------------
@dataclass
class BertConfig:
    """Hyper-parameters of :class:`BERT`.

    Args:
        vocab_size: number of token ids (special tokens included).
        max_len: longest sequence (learned positions).
        n_layer, n_head, n_embd: depth, heads, width.
        dropout: dropout on embeddings, attention, sub-layers and the classifier.
        num_classes: outputs of the sequence-classification head.
        pad_id: the ``[PAD]`` id; padding is ``tokens == pad_id`` unless a mask is passed.
        norm_first: pre-norm blocks (robust to short training) or BERT's post-norm.
    """

    vocab_size: int
    max_len: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1
    num_classes: int = 2
    pad_id: int = 0
    norm_first: bool = True

    def __post_init__(self):
        check_positive_int(self.vocab_size, "vocab_size")
        check_positive_int(self.max_len, "max_len")
        check_positive_int(self.n_layer, "n_layer")
        check_positive_int(self.num_classes, "num_classes")
        _check_heads(self.n_embd, self.n_head)


class BERT(nn.Module):
    r"""A bidirectional encoder (BERT, `Devlin et al. 2019 <https://arxiv.org/abs/1810.04805>`_)
    with a masked-language-model head and a sequence-classification head.

    Self-attention runs on ``complete_graph(T, batch_size=B)``; a padding mask removes the
    edges out of padded tokens, so a sequence's outputs do not depend on how much padding
    follows it. Heads, as in BERT:

    - MLM: :math:`\mathrm{logits} = \mathrm{LN}(\mathrm{GELU}(H W_1 + b_1)) W_{te}^\top + b`
      (decoder tied to the token embedding); pair with :func:`geodl.tasks.text.mask_tokens`;
    - classification: :math:`\mathrm{logits} = \tanh(h_{0} W_p + b_p) W_c + b_c` from the
      first token (put ``[CLS]`` there).

    Args:
        config: a :class:`BertConfig` (or its fields as keyword arguments).

    Shapes:
        tokens ``(B, T)``, padding_mask ``(B, T)`` bool (``True`` = padding);
        :meth:`forward` ``(B, T, E)``; :meth:`mlm_logits` ``(B, T, V)``;
        :meth:`classify` ``(B, num_classes)``.

    >>> bert = BERT(vocab_size=10, n_layer=1, n_head=2, n_embd=8).eval()
    >>> h = bert(torch.tensor([[2, 5, 6, 0], [2, 7, 0, 0]]))
    >>> bert.mlm_logits(h).shape, bert.classify(h).shape
    (torch.Size([2, 4, 10]), torch.Size([2, 2]))
    """

    def __init__(self, config: BertConfig | None = None, **kwargs):
        super().__init__()
        self.config = c = _config(BertConfig, config, kwargs)
        self.tok = nn.Embedding(c.vocab_size, c.n_embd)
        self.pos = LearnedPE(c.n_embd, c.max_len)
        self.emb_norm = nn.LayerNorm(c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.encoder = TransformerEncoder(c.n_layer, c.n_embd, c.n_head, 4 * c.n_embd,
                                          dropout=c.dropout, activation="gelu",
                                          norm_first=c.norm_first, final_norm=c.norm_first)
        self.mlm_dense = nn.Linear(c.n_embd, c.n_embd)
        self.mlm_norm = nn.LayerNorm(c.n_embd)
        self.mlm_bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.pooler = nn.Linear(c.n_embd, c.n_embd)
        self.classifier = nn.Linear(c.n_embd, c.num_classes)
        _init_gpt2(self, c.n_layer)

    def forward(self, tokens: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """Contextual token features ``(B, T, E)``; ``padding_mask`` defaults to
        ``tokens == pad_id``."""
        B, T = tokens.shape
        _check_length(T, self.config.max_len, "tokens")
        if padding_mask is None:
            padding_mask = tokens == self.config.pad_id
        pos = torch.arange(T, device=tokens.device)
        h = self.drop(self.emb_norm(self.tok(tokens) + self.pos(pos)))  # (B, T, E)
        g = complete_graph(T, batch_size=B)
        h = self.encoder(h.reshape(B * T, -1), g, key_padding_mask=padding_mask)  # (B*T, E)
        return h.view(B, T, -1)  # (B, T, E)

    def mlm_logits(self, hidden: Tensor) -> Tensor:
        """Token logits ``(B, T, V)`` of the masked-language-model head."""
        h = self.mlm_norm(F.gelu(self.mlm_dense(hidden)))
        return F.linear(h, self.tok.weight, self.mlm_bias)

    def classify(self, hidden: Tensor) -> Tensor:
        """Class logits ``(B, num_classes)`` from the first token's features."""
        pooled = torch.tanh(self.pooler(hidden[:, 0]))  # (B, E)
        return self.classifier(self.drop(pooled))


# -- ViT ------------------------------------------------------------------------------------
@dataclass
class ViTConfig:
    """Hyper-parameters of :class:`ViT`.

    Args:
        image_size: ``(H, W)`` or one int; both multiples of ``patch_size``.
        patch_size: side ``p`` of the square patches.
        in_channels, num_classes: image channels and classes.
        n_layer, n_head, n_embd: depth, heads, width.
        mlp_ratio: MLP hidden width / ``n_embd``.
        dropout: dropout in the blocks and after the embeddings.
        pos_encoding: ``"learned"`` (ViT) or ``"laplacian"``: the Laplacian eigenvectors of the
            patch grid graph, linearly projected (a fixed 2-D position code; the class token
            gets a learned one).
    """

    image_size: int | tuple[int, int] = 28
    patch_size: int = 4
    in_channels: int = 1
    num_classes: int = 10
    n_layer: int = 6
    n_head: int = 4
    n_embd: int = 64
    mlp_ratio: float = 2.0
    dropout: float = 0.0
    pos_encoding: Literal["learned", "laplacian"] = "learned"

    def __post_init__(self):
        if isinstance(self.image_size, int):
            self.image_size = (self.image_size, self.image_size)
        p = check_positive_int(self.patch_size, "patch_size")
        if any(s % p for s in self.image_size):
            raise ValueError(f"image_size={self.image_size} must be a multiple of "
                             f"patch_size={p}; pad or crop the images, or pick another patch.")
        check_positive_int(self.n_layer, "n_layer")
        _check_heads(self.n_embd, self.n_head)
        check_option(self.pos_encoding, ["learned", "laplacian"], "pos_encoding")
        if self.pos_encoding == "laplacian" and self.image_size[0] * self.image_size[1] == p * p:
            raise ValueError(f"pos_encoding='laplacian' needs at least two patches, got one "
                             f"({self.image_size} images, patch_size={p}); use a smaller "
                             f"patch_size or pos_encoding='learned'.")


class ViT(nn.Module):
    r"""Vision Transformer (`Dosovitskiy et al. 2021 <https://arxiv.org/abs/2010.11929>`_):
    the ``p x p`` patches of an image are the nodes of ``grid_graph(H/p, W/p)`` (row-major);
    with a class token they attend to each other on a complete graph.

    .. math::
        z_0 = [x_{cls};\, x_1 W_E; \dots; x_P W_E] + E_{pos}, \quad
        y = \mathrm{LN}(\mathrm{Encoder}(z_0))_{cls}\, W_{head}

    The patch embedding :math:`W_E` acts on each patch's ``C * p * p`` pixels (in ``(C, p, p)``
    order): the same map as ``nn.Conv2d(C, E, p, stride=p)`` with ``weight.view(E, -1)``.

    Args:
        config: a :class:`ViTConfig` (or its fields as keyword arguments).

    Shapes:
        images ``(B, C, H, W)``; out ``(B, num_classes)``.

    >>> vit = ViT(image_size=8, patch_size=4, n_layer=1, n_head=2, n_embd=8)
    >>> vit(torch.randn(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, config: ViTConfig | None = None, **kwargs):
        super().__init__()
        self.config = c = _config(ViTConfig, config, kwargs)
        p, (H, W) = c.patch_size, c.image_size
        self.grid = (H // p, W // p)
        num_patches = self.grid[0] * self.grid[1]
        self.patch_embed = nn.Linear(c.in_channels * p * p, c.n_embd)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.n_embd))
        if c.pos_encoding == "learned":
            self.pos_embed = nn.Parameter(torch.randn(1, 1 + num_patches, c.n_embd) * 0.02)
        else:  # fixed eigenvectors of the patch grid's Laplacian, projected
            from geodl.graph import laplacian_pe

            k = min(c.n_embd, num_patches - 1)
            self.register_buffer("grid_pe", laplacian_pe(grid_graph(*self.grid), k).float())
            self.pos_proj = nn.Linear(k, c.n_embd)
            self.pos_embed = nn.Parameter(torch.randn(1, 1, c.n_embd) * 0.02)  # class token's
        self.drop = nn.Dropout(c.dropout)
        self.encoder = TransformerEncoder(c.n_layer, c.n_embd, c.n_head,
                                          int(c.mlp_ratio * c.n_embd), dropout=c.dropout,
                                          activation="gelu", norm_first=True, final_norm=True)
        self.head = nn.Linear(c.n_embd, c.num_classes)

    def patchify(self, images: Tensor) -> Tensor:
        """The patches as node features of ``grid_graph(H/p, W/p, batch_size=B)``:
        ``(B * H/p * W/p, C * p * p)``, row-major over the grid."""
        B, C, H, W = images.shape
        p, (h, w) = self.config.patch_size, self.grid
        if (C, H, W) != (self.config.in_channels, *self.config.image_size):
            raise ValueError(f"images must have shape (B, {self.config.in_channels}, "
                             f"{self.config.image_size[0]}, {self.config.image_size[1]}), got "
                             f"{tuple(images.shape)}.")
        x = images.reshape(B, C, h, p, w, p).permute(0, 2, 4, 1, 3, 5)  # (B, h, w, C, p, p)
        return x.reshape(B * h * w, C * p * p)  # (B*h*w, C*p*p): nodes of the patch grid

    def forward(self, images: Tensor) -> Tensor:
        B = images.size(0)
        n = 1 + self.grid[0] * self.grid[1]
        patches = self.patch_embed(self.patchify(images)).view(B, n - 1, -1)  # (B, P, E)
        if self.config.pos_encoding == "learned":
            pos = self.pos_embed  # (1, n, E)
        else:
            pos = torch.cat([self.pos_embed, self.pos_proj(self.grid_pe)[None]], 1)  # (1, n, E)
        z = torch.cat([self.cls_token.expand(B, -1, -1), patches], 1) + pos  # (B, n, E)
        z = self.encoder(self.drop(z).reshape(B * n, -1), complete_graph(n, batch_size=B))
        return self.head(z.view(B, n, -1)[:, 0])  # (B, num_classes), from the class token


# -- encoder-decoder ------------------------------------------------------------------------
@dataclass
class TransformerConfig:
    """Hyper-parameters of :class:`Transformer`: ``n_layer`` encoder and ``n_layer`` decoder
    blocks, positions up to ``max_len`` (``"sinusoidal"`` as in the paper, or ``"learned"``),
    ``pad_id`` marks padding in the source."""

    src_vocab_size: int
    tgt_vocab_size: int
    max_len: int = 128
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    pad_id: int = 0
    pos_encoding: Literal["sinusoidal", "learned"] = "sinusoidal"

    def __post_init__(self):
        check_option(self.pos_encoding, ["sinusoidal", "learned"], "pos_encoding")
        check_positive_int(self.src_vocab_size, "src_vocab_size")
        check_positive_int(self.tgt_vocab_size, "tgt_vocab_size")
        check_positive_int(self.max_len, "max_len")
        check_positive_int(self.n_layer, "n_layer")
        _check_heads(self.n_embd, self.n_head)


class Transformer(nn.Module):
    r"""An encoder-decoder transformer (`Vaswani et al. 2017
    <https://arxiv.org/abs/1706.03762>`_), pre-norm.

    The encoder attends on ``complete_graph(S, batch_size=B)`` over the source; the decoder
    attends causally on ``complete_graph(T, causal=True, batch_size=B)`` over the target and
    across the bipartite complete graph source -> target (``context=``). Padded source tokens
    lose their outgoing edges in both. Token embeddings are scaled by :math:`\sqrt{d}` and
    added to sinusoidal (:class:`~geodl.nn.positional.SinusoidalPE`) or learned positions.

    Args:
        config: a :class:`TransformerConfig` (or its fields as keyword arguments).

    Shapes:
        src ``(B, S)``, tgt ``(B, T)`` (the decoder input, shifted right); out
        ``(B, T, tgt_vocab_size)``.

    >>> model = Transformer(src_vocab_size=7, tgt_vocab_size=9, n_layer=1, n_head=2, n_embd=8)
    >>> model(torch.randint(1, 7, (2, 5)), torch.randint(1, 9, (2, 3))).shape
    torch.Size([2, 3, 9])
    """

    def __init__(self, config: TransformerConfig | None = None, **kwargs):
        super().__init__()
        self.config = c = _config(TransformerConfig, config, kwargs)
        self.src_tok = nn.Embedding(c.src_vocab_size, c.n_embd)
        self.tgt_tok = nn.Embedding(c.tgt_vocab_size, c.n_embd)
        pe = SinusoidalPE if c.pos_encoding == "sinusoidal" else LearnedPE
        self.pos = pe(c.n_embd, c.max_len)
        self.drop = nn.Dropout(c.dropout)
        self.encoder = TransformerEncoder(c.n_layer, c.n_embd, c.n_head, dropout=c.dropout)
        self.decoder = TransformerDecoder(c.n_layer, c.n_embd, c.n_head, dropout=c.dropout)
        self.head = nn.Linear(c.n_embd, c.tgt_vocab_size)
        _init_gpt2(self, 2 * c.n_layer)

    def _embed(self, tokens: Tensor, table: nn.Embedding) -> Tensor:
        B, T = tokens.shape
        _check_length(T, self.config.max_len, "the sequence")
        scale = math.sqrt(self.config.n_embd)  # the paper scales embeddings by sqrt(d)
        h = table(tokens) * scale + self.pos(torch.arange(T, device=tokens.device))  # (B, T, E)
        return self.drop(h).reshape(B * T, -1)  # (B*T, E)

    def encode(self, src: Tensor, src_padding_mask: Tensor | None = None) -> Tensor:
        """The memory ``(B*S, E)`` (node-major); padding defaults to ``src == pad_id``."""
        B, S = src.shape
        if src_padding_mask is None:
            src_padding_mask = src == self.config.pad_id
        return self.encoder(self._embed(src, self.src_tok), complete_graph(S, batch_size=B),
                            key_padding_mask=src_padding_mask)

    def decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor) -> Tensor:
        """Target logits ``(B, T, V)`` given the encoder's memory."""
        B, T = tgt.shape
        g = complete_graph(T, causal=True, batch_size=B)
        h = self.decoder(self._embed(tgt, self.tgt_tok), g, context=memory,
                         context_padding_mask=src_padding_mask)  # (B*T, E)
        return self.head(h).view(B, T, -1)  # (B, T, V)

    def forward(self, src: Tensor, tgt: Tensor, src_padding_mask: Tensor | None = None
                ) -> Tensor:
        if src_padding_mask is None:
            src_padding_mask = src == self.config.pad_id
        return self.decode(tgt, self.encode(src, src_padding_mask), src_padding_mask)

r"""Transformer blocks: attention + Add & Norm + feed-forward, as message passing on graphs."""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.validation import check_option, check_positive_int
from geodl.nn.attention import MultiheadAttention
from geodl.nn.paths import Path

__all__ = ["TransformerLayer", "TransformerEncoder", "TransformerDecoder"]

Activation = Literal["gelu", "relu"]


class TransformerLayer(nn.Module):
    r"""One transformer block from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_: self-attention, optional cross-attention, MLP.

    Pre-norm (``norm_first=True``, GPT-2 / ViT, `Xiong et al. 2020
    <https://arxiv.org/abs/2002.04745>`_), with :math:`\mathrm{SA}` the self-attention on
    ``g`` and :math:`\mathrm{CA}` the cross-attention to the context :math:`C`:

    .. math::
        X &\leftarrow X + \mathrm{SA}(\mathrm{LN}_1(X), g) \\
        X &\leftarrow X + \mathrm{CA}(\mathrm{LN}_2(X), C) \quad (\text{cross\_attention}) \\
        X &\leftarrow X + W_2\, \sigma(W_1\, \mathrm{LN}(X) + b_1) + b_2

    Post-norm (``norm_first=False``, the original and BERT): :math:`X \leftarrow
    \mathrm{LN}(X + \mathrm{SA}(X, g))`, and so on. Dropout follows every sub-layer.

    **Configuration of** :func:`~geodl.nn.propagate`: the attention sub-layers are
    :class:`~geodl.nn.attention.MultiheadAttention` (softmax aggregation on ``g``, or on the
    bipartite complete graph context -> queries); norms and MLP are node updates. So the
    block is causal on a causal complete graph, and sparse graph attention on a general
    graph (a graph transformer with the graph's own edges).

    Parameters carry the names of ``nn.TransformerEncoderLayer`` (``self_attn``, ``linear1``,
    ``linear2``, ``norm1``, ``norm2``) and, with ``cross_attention``, of
    ``nn.TransformerDecoderLayer`` (``multihead_attn``, ``norm3``): ``load_state_dict`` copies
    their weights and then the outputs are equal (``batch_first=True``).

    Args:
        d_model: width :math:`D` of the node features.
        num_heads: attention heads (must divide ``d_model``).
        dim_feedforward: hidden width of the MLP (default ``4 * d_model``).
        dropout: dropout after each sub-layer, inside the MLP and on the attention weights.
        activation: ``"gelu"`` or ``"relu"``.
        norm_first: pre-norm (default) or post-norm.
        cross_attention: add a cross-attention sub-layer (a decoder block).
        bias: biases in the linear layers and layer norms.
        layer_norm_eps: epsilon of the layer norms.

    Shapes:
        - x ``(N, D)``, context ``(M, D)``, key_padding_mask ``(B, n)``,
          context_padding_mask ``(B, m)``
        - out ``(N, D)``

    >>> import torch
    >>> from geodl.graph import complete_graph
    >>> layer = TransformerLayer(8, 2, cross_attention=True).eval()
    >>> g = complete_graph(4, causal=True, batch_size=2)
    >>> layer(torch.randn(8, 8), g, context=torch.randn(6, 8)).shape
    torch.Size([8, 8])
    """

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int | None = None, *,
                 dropout: float = 0.0, activation: Activation = "gelu", norm_first: bool = True,
                 cross_attention: bool = False, bias: bool = True, layer_norm_eps: float = 1e-5):
        super().__init__()
        d_model = check_positive_int(d_model, "d_model")
        check_option(activation, ["gelu", "relu"], "activation")
        dim_feedforward = 4 * d_model if dim_feedforward is None else check_positive_int(
            dim_feedforward, "dim_feedforward")
        self.d_model, self.num_heads, self.dim_feedforward = d_model, num_heads, dim_feedforward
        self.dropout_p, self.activation_name = dropout, activation
        self.norm_first, self.cross_attention = norm_first, cross_attention
        self.activation = F.gelu if activation == "gelu" else F.relu
        self.self_attn = MultiheadAttention(d_model, num_heads, dropout=dropout, bias=bias)
        self.multihead_attn = (MultiheadAttention(d_model, num_heads, dropout=dropout, bias=bias)
                               if cross_attention else None)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm1, self.norm2 = (nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
                                  for _ in range(2))
        self.norm3 = (nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias) if cross_attention
                      else None)
        self.dropout = nn.Dropout(dropout)  # inside the MLP
        self.dropout1, self.dropout2, self.dropout3 = (nn.Dropout(dropout) for _ in range(3))

    def _mlp(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))  # (N, D)

    def forward(self, x: Tensor, g, *, context: Tensor | None = None,
                key_padding_mask: Tensor | None = None,
                context_padding_mask: Tensor | None = None, path: Path = "auto",
                fast: bool | None = None) -> Tensor:
        """``path`` picks the attention's path (:mod:`geodl.nn.paths`); ``fast=False`` is
        ``path="definition"``, :func:`~geodl.nn.propagate` itself."""
        if self.cross_attention and context is None:
            raise ValueError("this TransformerLayer has cross_attention=True: pass context= "
                             "(M, d_model), the encoder's output.")
        if not self.cross_attention and (context is not None or context_padding_mask is not None):
            raise ValueError("context/context_padding_mask given to a TransformerLayer built "
                             "with cross_attention=False; build it with cross_attention=True.")

        def sa(h: Tensor) -> Tensor:
            return self.dropout1(self.self_attn(h, g, key_padding_mask=key_padding_mask,
                                                path=path, fast=fast))

        def ca(h: Tensor) -> Tensor:
            return self.dropout2(self.multihead_attn(h, g, context=context,
                                                     key_padding_mask=context_padding_mask,
                                                     path=path, fast=fast))

        # the MLP's norm and dropout: norm2/dropout2 in an encoder, norm3/dropout3 in a decoder
        norm_ff = self.norm3 if self.cross_attention else self.norm2
        drop_ff = self.dropout3 if self.cross_attention else self.dropout2
        if self.norm_first:
            x = x + sa(self.norm1(x))
            if self.cross_attention:
                x = x + ca(self.norm2(x))
            return x + drop_ff(self._mlp(norm_ff(x)))
        x = self.norm1(x + sa(x))
        if self.cross_attention:
            x = self.norm2(x + ca(x))
        return norm_ff(x + drop_ff(self._mlp(x)))

    def extra_repr(self) -> str:
        return (f"{self.d_model}, num_heads={self.num_heads}, "
                f"dim_feedforward={self.dim_feedforward}, activation={self.activation_name!r}, "
                f"norm_first={self.norm_first}, cross_attention={self.cross_attention}")


class TransformerEncoder(nn.Module):
    r"""A stack of ``num_layers`` :class:`TransformerLayer` blocks and a final layer norm.

    :math:`X \leftarrow \mathrm{LN}(f_L(\dots f_1(X)))`, each :math:`f_l` self-attention on
    ``g`` (complete: BERT/ViT; causal complete: GPT; general graph: a graph transformer).
    Names as ``nn.TransformerEncoder`` (``layers.<i>``, ``norm``), so its weights load.

    Args:
        num_layers: number of blocks.
        d_model, num_heads, dim_feedforward, dropout, activation, norm_first: of each block.
        final_norm: a layer norm after the last block (needed with pre-norm).

    Shapes:
        - x ``(N, D)``, key_padding_mask ``(B, n)``
        - out ``(N, D)``

    >>> import torch
    >>> from geodl.graph import complete_graph
    >>> enc = TransformerEncoder(2, 8, 2).eval()
    >>> enc(torch.randn(6, 8), complete_graph(3, batch_size=2)).shape
    torch.Size([6, 8])
    """

    cross_attention = False

    def __init__(self, num_layers: int, d_model: int, num_heads: int,
                 dim_feedforward: int | None = None, *, dropout: float = 0.0,
                 activation: Activation = "gelu", norm_first: bool = True,
                 final_norm: bool = True, bias: bool = True, layer_norm_eps: float = 1e-5):
        super().__init__()
        num_layers = check_positive_int(num_layers, "num_layers")
        self.layers = nn.ModuleList(
            TransformerLayer(d_model, num_heads, dim_feedforward, dropout=dropout,
                             activation=activation, norm_first=norm_first,
                             cross_attention=self.cross_attention, bias=bias,
                             layer_norm_eps=layer_norm_eps)
            for _ in range(num_layers))
        self.norm = (nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias) if final_norm
                     else None)

    def forward(self, x: Tensor, g, *, key_padding_mask: Tensor | None = None,
                path: Path = "auto", fast: bool | None = None) -> Tensor:
        """``path`` picks the attention's path (:mod:`geodl.nn.paths`); ``fast=False`` is
        ``path="definition"``, :func:`~geodl.nn.propagate` itself."""
        for layer in self.layers:
            x = layer(x, g, key_padding_mask=key_padding_mask, path=path, fast=fast)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(TransformerEncoder):
    r"""A stack of decoder blocks (:class:`TransformerLayer` with ``cross_attention=True``):
    causal self-attention on ``g`` (a causal complete graph) and cross-attention to the
    encoder's output ``context``, then a final layer norm. Names as
    ``nn.TransformerDecoder`` (``layers.<i>``, ``norm``).

    Shapes:
        - x ``(N, D)``, context ``(M, D)``, key_padding_mask ``(B, n)``,
          context_padding_mask ``(B, m)``
        - out ``(N, D)``

    >>> import torch
    >>> from geodl.graph import complete_graph
    >>> dec = TransformerDecoder(2, 8, 2).eval()
    >>> dec(torch.randn(6, 8), complete_graph(3, causal=True, batch_size=2),
    ...     context=torch.randn(10, 8)).shape
    torch.Size([6, 8])
    """

    cross_attention = True

    def forward(self, x: Tensor, g, *, context: Tensor | None = None,
                key_padding_mask: Tensor | None = None,
                context_padding_mask: Tensor | None = None, path: Path = "auto",
                fast: bool | None = None) -> Tensor:
        if context is None:
            raise ValueError("TransformerDecoder needs context= (M, d_model), the encoder's "
                             "output; for a decoder-only model (GPT) use TransformerEncoder "
                             "on a causal complete graph.")
        for layer in self.layers:
            x = layer(x, g, context=context, key_padding_mask=key_padding_mask,
                      context_padding_mask=context_padding_mask, path=path, fast=fast)
        return x if self.norm is None else self.norm(x)

"""Recurrent models: the four classic uses of an RNN, and a forecaster.

Every model runs a recurrent layer of :mod:`geodl.nn.recurrent` (a cell along a path graph)
on batch-first sequences ``(B, T, C)``; they are the path graph ``path_graph(T, batch_size=B)``
with node features ``seq.reshape(-1, C)``. ``fast=False`` in ``forward`` strips the path tag
(the generic, level-by-level message-passing path; same numbers).

- :class:`SequenceTagger`: sequence -> sequence of the same length (one label per step).
- :class:`SequenceClassifier`: sequence -> vector (the final state, then a linear head).
- :class:`SequenceGenerator`: vector -> sequence (the vector sets the initial state and is the
  input of every step).
- :class:`Seq2Seq`: encoder-decoder (Sutskever et al. 2014, https://arxiv.org/abs/1409.3215):
  the encoder's final state starts the decoder; teacher forcing in ``forward``, step-by-step
  feedback in ``generate``.
- :class:`Forecaster`: a window of a time series -> the next ``horizon`` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from geodl.graph import generic, path_graph
from geodl.graph.validation import check_option, check_positive_int
from geodl.nn.recurrent import GRU, LSTM, RNN

__all__ = ["RNNConfig", "SequenceTagger", "SequenceClassifier", "SequenceGenerator", "Seq2Seq",
           "Forecaster"]

_CELLS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}


@dataclass
class RNNConfig:
    """Hyper-parameters of the recurrent models.

    Args:
        input_size: features per step ``C`` (:class:`SequenceGenerator`: of the input vector).
        hidden_size: state size ``H``.
        output_size: outputs per step (tagger, generator, seq2seq) or per sequence.
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
        num_layers: stacked recurrent layers.
        bidirectional: also read the sequence backwards (not for the generator and decoder,
            which produce their sequence left to right).
        dropout: dropout on the recurrent outputs before the linear head.
    """

    input_size: int
    hidden_size: int = 64
    output_size: int = 1
    cell: Literal["rnn", "gru", "lstm"] = "gru"
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        check_option(self.cell, list(_CELLS), "cell")
        for name in ("input_size", "hidden_size", "output_size", "num_layers"):
            check_positive_int(getattr(self, name), name)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout!r} must lie in [0, 1).")

    def recurrent(self, input_size: int | None = None, bidirectional: bool | None = None):
        """A recurrent layer of this configuration."""
        bi = self.bidirectional if bidirectional is None else bidirectional
        return _CELLS[self.cell](self.input_size if input_size is None else input_size,
                                 self.hidden_size, self.num_layers, bidirectional=bi)


def _run(layer, seq: Tensor, state=None, fast: bool = True):
    """``layer`` on a batch-first ``seq`` ``(B, T, C)`` as a path graph -> ``(B, T, D*H)``."""
    if not isinstance(seq, Tensor) or seq.dim() != 3:
        shape = tuple(seq.shape) if isinstance(seq, Tensor) else type(seq).__name__
        raise ValueError(f"seq must be a batch-first sequence (B, T, C), got {shape}; "
                         "a single sequence is seq.unsqueeze(0).")
    B, T, C = seq.shape
    g = path_graph(T, batch_size=B)
    out, final = layer(seq.reshape(B * T, C), g if fast else generic(g), state)  # (B*T, D*H)
    return out.view(B, T, -1), final  # (B, T, D*H)


def _last_layer(final, layer) -> Tensor:
    """The last layer's final hidden state of every sequence, directions concatenated."""
    h = final[0] if isinstance(final, tuple) else final  # (L*D, B, H)
    d = 2 if layer.bidirectional else 1
    return h[-d:].transpose(0, 1).reshape(h.size(1), -1)  # (B, D*H)


class SequenceTagger(nn.Module):
    """Sequence -> sequence of the same length: ``y_t = W h_t + b`` for every step.

    Shapes: seq ``(B, T, C)`` -> ``(B, T, output_size)``.

    >>> SequenceTagger(RNNConfig(3, 8, 5, bidirectional=True))(torch.randn(2, 7, 3)).shape
    torch.Size([2, 7, 5])
    """

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        self.rnn = config.recurrent()
        self.dropout = nn.Dropout(config.dropout)
        d = 2 if config.bidirectional else 1
        self.head = nn.Linear(d * config.hidden_size, config.output_size)

    def forward(self, seq: Tensor, *, fast: bool = True) -> Tensor:
        out, _ = _run(self.rnn, seq, fast=fast)  # (B, T, D*H)
        return self.head(self.dropout(out))


class SequenceClassifier(nn.Module):
    """Sequence -> vector: a linear head on the last layer's final state (both directions).

    Shapes: seq ``(B, T, C)`` -> ``(B, output_size)``.

    >>> SequenceClassifier(RNNConfig(1, 8, 10))(torch.randn(4, 40, 1)).shape
    torch.Size([4, 10])
    """

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        self.rnn = config.recurrent()
        self.dropout = nn.Dropout(config.dropout)
        d = 2 if config.bidirectional else 1
        self.head = nn.Linear(d * config.hidden_size, config.output_size)

    def forward(self, seq: Tensor, *, fast: bool = True) -> Tensor:
        _, final = _run(self.rnn, seq, fast=fast)
        return self.head(self.dropout(_last_layer(final, self.rnn)))  # (B, out)


class Forecaster(SequenceClassifier):
    """A window of a (multivariate) time series -> its next ``horizon`` values.

    A :class:`SequenceClassifier` whose head has ``horizon * targets`` outputs; ``config``'s
    ``output_size`` is ignored. Shapes: window ``(B, T, C)`` -> ``(B, horizon)`` (or
    ``(B, horizon, targets)`` for ``targets > 1``).

    >>> Forecaster(RNNConfig(1, 16, cell="lstm"), horizon=3)(torch.randn(2, 24, 1)).shape
    torch.Size([2, 3])
    """

    def __init__(self, config: RNNConfig, horizon: int = 1, targets: int = 1):
        horizon = check_positive_int(horizon, "horizon")
        targets = check_positive_int(targets, "targets")
        super().__init__(RNNConfig(**{**config.__dict__, "output_size": horizon * targets}))
        self.horizon, self.targets = horizon, targets

    def forward(self, seq: Tensor, *, fast: bool = True) -> Tensor:
        y = super().forward(seq, fast=fast)  # (B, horizon * targets)
        return y if self.targets == 1 else y.view(y.size(0), self.horizon, self.targets)


class SequenceGenerator(nn.Module):
    r"""Vector -> sequence: :math:`h_0 = \tanh(W_0 v)`, the input of every step is ``v``, and
    ``y_t = W h_t + b``. Unidirectional (the sequence is produced left to right).

    Shapes: v ``(B, input_size)``, ``length`` T -> ``(B, T, output_size)``.

    >>> SequenceGenerator(RNNConfig(4, 8, 2, cell="lstm"))(torch.randn(3, 4), length=6).shape
    torch.Size([3, 6, 2])
    """

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        self.rnn = config.recurrent(bidirectional=False)
        self.init = nn.Linear(config.input_size, config.num_layers * config.hidden_size)
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def forward(self, v: Tensor, length: int, *, fast: bool = True) -> Tensor:
        if not isinstance(v, Tensor) or v.dim() != 2 or v.size(1) != self.config.input_size:
            raise ValueError(f"v must have shape (B, input_size={self.config.input_size}), got "
                             f"{tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__}.")
        T, (B, L) = check_positive_int(length, "length"), (v.size(0), self.config.num_layers)
        h0 = torch.tanh(self.init(v)).view(B, L, -1).transpose(0, 1).contiguous()  # (L, B, H)
        state = (h0, torch.zeros_like(h0)) if self.config.cell == "lstm" else h0
        seq = v.unsqueeze(1).expand(B, T, v.size(1))  # (B, T, C): v at every step
        out, _ = _run(self.rnn, seq, state, fast=fast)
        return self.head(out)  # (B, T, out)


class Seq2Seq(nn.Module):
    """Encoder-decoder: the encoder's final state is the decoder's initial state.

    The encoder may be bidirectional (its two final states are added); the decoder is not.
    ``forward(src, tgt_in)`` uses teacher forcing: ``tgt_in`` ``(B, T, target_size)`` is the
    target sequence shifted right (a start vector first). ``generate`` feeds every prediction
    back as the next input (needs ``output_size == target_size``).

    Shapes: src ``(B, S, input_size)``, tgt_in ``(B, T, target_size)`` ->
    ``(B, T, output_size)``.

    >>> m = Seq2Seq(RNNConfig(3, 8, 2, cell="lstm"), target_size=2)
    >>> m(torch.randn(4, 5, 3), torch.randn(4, 6, 2)).shape
    torch.Size([4, 6, 2])
    """

    def __init__(self, config: RNNConfig, target_size: int | None = None):
        super().__init__()
        self.config = config
        self.target_size = check_positive_int(
            config.output_size if target_size is None else target_size, "target_size")
        self.encoder = config.recurrent()
        self.decoder = config.recurrent(self.target_size, bidirectional=False)
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def encode(self, src: Tensor, *, fast: bool = True):
        """The decoder's initial state from the encoder's final state ``(L, B, H)``."""
        _, final = _run(self.encoder, src, fast=fast)
        if not self.config.bidirectional:
            return final
        parts = final if isinstance(final, tuple) else (final,)
        L, B, H = self.config.num_layers, src.size(0), self.config.hidden_size
        merged = tuple(p.view(L, 2, B, H).sum(1) for p in parts)  # (L, B, H): fwd + bwd
        return merged if isinstance(final, tuple) else merged[0]

    def forward(self, src: Tensor, tgt_in: Tensor, *, fast: bool = True) -> Tensor:
        out, _ = _run(self.decoder, tgt_in, self.encode(src, fast=fast), fast=fast)
        return self.head(out)  # (B, T, out)

    @torch.no_grad()
    def generate(self, src: Tensor, start: Tensor, steps: int) -> Tensor:
        """Predict ``steps`` outputs one at a time from ``start`` ``(B, target_size)``."""
        if self.config.output_size != self.target_size:
            raise ValueError(f"generate feeds predictions back as inputs: it needs "
                             f"output_size ({self.config.output_size}) == target_size "
                             f"({self.target_size}).")
        state, x, outs = self.encode(src), start.unsqueeze(1), []  # x (B, 1, target)
        for _ in range(check_positive_int(steps, "steps")):
            out, state = _run(self.decoder, x, state)  # one step: a path of length 1
            x = self.head(out)  # (B, 1, out)
            outs.append(x)
        return torch.cat(outs, 1)  # (B, steps, out)

r"""Skip-gram with negative sampling (SGNS; Mikolov et al. 2013,
https://arxiv.org/abs/1310.4546) as a task for :func:`~geodl.tasks.fit`, for words and nodes.

For every pair (centre ``c``, context ``o``) of a path graph's ``window``-hop closure and
``K`` negatives :math:`n_k` drawn from the unigram distribution raised to :math:`3/4`:

.. math::
    \ell(c, o) = -\log \sigma(u_c^\top v_o) - \sum_{k=1}^{K} \log \sigma(-u_c^\top v_{n_k})

A sequence (a text's token ids, or a random walk's nodes, :func:`geodl.graph.random_walk`) is
a path graph; node2vec is SGNS on walks redrawn every epoch (pass a function to :class:`SkipGram`
as ``walks``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.validation import check_positive_int

__all__ = ["skipgram_pairs", "sgns_loss", "noise_distribution", "SkipGramTask"]


def skipgram_pairs(walks: Tensor, window: int) -> Tensor:
    """(centre, context) pairs: the edges, in both directions, joining nodes at most
    ``window`` apart on each path graph (row) of ``walks``. ``-1`` entries (padding) are
    dropped.

    >>> skipgram_pairs(torch.tensor([[0, 1, 2]]), 1).tolist()
    [[0, 1, 1, 2], [1, 2, 0, 1]]
    """
    check_positive_int(window, "window")
    if walks.dim() == 1:
        walks = walks.view(1, -1)
    centres, contexts = [], []
    for offset in range(1, min(window, walks.size(1) - 1) + 1):  # one hop distance at a time
        a, b = walks[:, :-offset].reshape(-1), walks[:, offset:].reshape(-1)
        centres += [a, b]
        contexts += [b, a]
    if not centres:
        return walks.new_empty(2, 0)
    pairs = torch.stack([torch.cat(centres), torch.cat(contexts)])  # (2, P)
    return pairs[:, (pairs >= 0).all(0)]


def sgns_loss(pos: Tensor, neg: Tensor) -> Tensor:
    r"""Mean SGNS loss of scores: ``pos`` ``(P,)`` for the true pairs, ``neg`` ``(P, K)`` for
    their negatives: :math:`-\log\sigma(s^+) - \sum_k \log\sigma(-s^-_k)`.

    >>> round(float(sgns_loss(torch.tensor([0.0]), torch.tensor([[0.0, 0.0]]))), 4)  # 3 log 2
    2.0794
    """
    return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


def noise_distribution(tokens: Tensor, num_embeddings: int, power: float = 0.75) -> Tensor:
    """word2vec's negative-sampling distribution: unigram counts to the power ``power``."""
    counts = torch.bincount(tokens[tokens >= 0].view(-1), minlength=num_embeddings).double()
    weights = counts.pow(power)
    if not weights.sum() > 0:
        raise ValueError("tokens holds no ids; pass the corpus (or walks) the pairs come from.")
    return weights / weights.sum()


class SkipGramTask:
    """SGNS on path graphs (texts or random walks) for :func:`~geodl.tasks.fit`.

    Args:
        walks: ``(W, L)`` token/node ids (``-1`` = padding), or a function returning fresh walks
            each epoch (node2vec: ``lambda: random_walk(...)``).
        num_embeddings: vocabulary size / number of nodes.
        window: context size (hops along the path graph).
        num_negatives: ``K`` negatives per pair.
        batch_size: pairs per step (shuffled every epoch with torch's global RNG, which
            :func:`~geodl.tasks.fit` seeds).
        noise: the negative distribution; default :func:`noise_distribution` of the first walks.
        evaluate_fn: optional ``fn(embedding) -> dict`` reported as the validation metrics
            (e.g. a logistic regression on the node classes); without it there is no
            validation split and :func:`fit` monitors the training loss.

    The model is a :class:`~geodl.models.SkipGram` (``model(center, context)`` -> scores).
    """

    monitor = "loss"
    mode = "min"

    def __init__(self, walks: Tensor | Callable[[], Tensor], num_embeddings: int,
                 window: int = 5, num_negatives: int = 5, batch_size: int = 4096,
                 noise: Tensor | None = None,
                 evaluate_fn: Callable[[Tensor], dict[str, float]] | None = None,
                 monitor: str | None = None, mode: str = "max"):
        check_positive_int(window, "window")
        check_positive_int(num_negatives, "num_negatives")
        check_positive_int(batch_size, "batch_size")
        self.walks, self.num_embeddings = walks, num_embeddings
        self.window, self.num_negatives, self.batch_size = window, num_negatives, batch_size
        first = walks() if callable(walks) else walks
        if first.numel() and int(first.max()) >= num_embeddings:
            top = int(first.max())
            raise ValueError(f"walks hold id {top} but num_embeddings={num_embeddings}; pass "
                             f"num_embeddings={top + 1} or more.")
        self.noise = noise if noise is not None else noise_distribution(first, num_embeddings)
        self.evaluate_fn = evaluate_fn
        if evaluate_fn is not None and monitor is not None:
            self.monitor, self.mode = monitor, mode

    def has_split(self, split: str) -> bool:
        return self.evaluate_fn is not None

    def train_batches(self) -> Iterator[tuple[Tensor, Tensor]]:
        walks = self.walks() if callable(self.walks) else self.walks  # fresh walks per epoch
        pairs = skipgram_pairs(walks, self.window)
        order = torch.randperm(pairs.size(1), device=pairs.device)
        yield from (pairs[:, idx] for idx in order.split(self.batch_size))

    def train_step(self, model: nn.Module, batch: Tensor) -> Tensor:
        center, context = batch
        negatives = torch.multinomial(self.noise.to(center.device),
                                      center.numel() * self.num_negatives, replacement=True)
        negatives = negatives.view(-1, self.num_negatives)  # (P, K)
        scores = model(center, torch.cat([context[:, None], negatives], 1))  # (P, 1 + K)
        return sgns_loss(scores[:, 0], scores[:, 1:])  # one forward: DDP-friendly

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if self.evaluate_fn is None:
            raise KeyError("SkipGramTask has no evaluation split; pass evaluate_fn= to score "
                           "the embedding (e.g. a logistic regression on node classes).")
        return self.evaluate_fn(getattr(model, "module", model).embedding())  # DDP-wrapped too

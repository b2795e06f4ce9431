"""Skip-gram embeddings (Mikolov et al. 2013, word2vec): the network, no training code.

One implementation serves words and nodes: a text is a path graph of its tokens, a random walk
(DeepWalk, node2vec) a path graph of nodes, and skip-gram predicts, for every edge of the
path graph's ``window``-hop closure, the context end from the centre end
(:func:`geodl.tasks.skipgram_pairs`; the objective is :func:`geodl.tasks.sgns_loss`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from geodl.graph.validation import check_positive_int

__all__ = ["SkipGram"]


class SkipGram(nn.Module):
    r"""Skip-gram with two embedding tables, from `"Distributed Representations of Words and
    Phrases and their Compositionality" <https://arxiv.org/abs/1310.4546>`_.

    The score of a (centre, context) pair is the inner product of the centre's input vector
    and the context's output vector:

    .. math::
        s(c, o) = u_c^\top v_o, \qquad u = \mathrm{input}[c],\ v = \mathrm{output}[o]

    Initialised as word2vec's C code: input vectors uniform in :math:`[-0.5/d, 0.5/d]`, output
    vectors zero. The embedding used downstream is ``input.weight`` (:meth:`embedding`).

    Args:
        num_embeddings: vocabulary size (words) or number of nodes.
        embedding_dim: :math:`d`.
        sparse: sparse gradients for the tables (train with ``torch.optim.SparseAdam`` or SGD).

    Shapes:
        - center ``(*)``, context ``(*, K)`` or ``(*)`` long ids
        - out ``(*, K)`` or ``(*)`` scores

    >>> model = SkipGram(10, 4)
    >>> model(torch.tensor([1, 2]), torch.tensor([[3, 4, 5], [6, 7, 8]])).shape
    torch.Size([2, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int = 128, sparse: bool = False):
        super().__init__()
        check_positive_int(num_embeddings, "num_embeddings")
        check_positive_int(embedding_dim, "embedding_dim")
        self.input = nn.Embedding(num_embeddings, embedding_dim, sparse=sparse)
        self.output = nn.Embedding(num_embeddings, embedding_dim, sparse=sparse)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        d = self.input.embedding_dim
        nn.init.uniform_(self.input.weight, -0.5 / d, 0.5 / d)
        nn.init.zeros_(self.output.weight)

    def forward(self, center: Tensor, context: Tensor) -> Tensor:
        u = self.input(center)  # (*, d)
        v = self.output(context)  # (*, K, d) or (*, d)
        if v.dim() == u.dim() + 1:
            return torch.einsum("...d,...kd->...k", u, v)  # (*, K)
        return (u * v).sum(-1)  # (*)

    def embedding(self) -> Tensor:
        """The learnt vectors ``(num_embeddings, d)`` (the input table, detached)."""
        return self.input.weight.detach()

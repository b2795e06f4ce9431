r"""Graph auto-encoders: GAE and VGAE (Kipf & Welling 2016, https://arxiv.org/abs/1611.07308).

A two-layer :class:`~geodl.nn.GCNConv` encoder maps the node features to embeddings
:math:`Z \in \mathbb{R}^{N \times D}`; the inner-product decoder scores every node pair,

.. math::
    \hat A = \sigma(Z Z^\top), \qquad p(A_{ij} = 1 \mid z_i, z_j) = \sigma(z_i^\top z_j),

evaluated only on the pairs asked for (an edge list), never as a dense ``(N, N)`` matrix.

- **GAE**: :math:`Z = \hat A\, \mathrm{ReLU}(\hat A X W_0)\, W_1`.
- **VGAE**: the second layer has two heads, :math:`\mu = \mathrm{GCN}_\mu(X, A)` and
  :math:`\log\sigma = \mathrm{GCN}_\sigma(X, A)` (sharing the first layer); in training
  :math:`Z = \mu + \sigma \odot \epsilon`, :math:`\epsilon \sim \mathcal N(0, I)` (the
  reparametrisation trick), in evaluation :math:`Z = \mu`. The loss adds the KL divergence
  of :math:`q(Z \mid X, A) = \prod_i \mathcal N(\mu_i, \sigma_i^2)` from the prior
  :math:`\mathcal N(0, I)` (:meth:`VGAE.kl_loss`).

Both encoder layers are configurations of :func:`~geodl.nn.propagate` through
:class:`~geodl.nn.GCNConv` (``message = x_j W`` weighted by :math:`\hat A`, ``aggregate="sum"``);
the decoder is an edge-wise dot product, ``(z[src] * z[dst]).sum(-1)``. With the same weights
the models equal ``torch_geometric.nn.GAE`` / ``VGAE`` around PyG's ``GCNConv`` (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import check_positive_int
from geodl.nn import GCNConv

__all__ = ["GAE", "VGAE", "inner_product_decode", "kl_loss", "MAX_LOGSTD"]

MAX_LOGSTD = 10.0
"""Upper clamp of :math:`\\log\\sigma` (as PyG's ``VGAE``): keeps :math:`\\sigma^2` finite."""


def inner_product_decode(z: Tensor, edges: Tensor) -> Tensor:
    """Edge logits ``z_src . z_dst`` ``(E,)`` (apply ``sigmoid`` for probabilities).

    Shapes:
        z ``(N, D)``, edges ``(2, E)``, out ``(E,)``.

    >>> inner_product_decode(torch.tensor([[1.0, 0.0], [2.0, 1.0]]), torch.tensor([[0], [1]]))
    tensor([2.])
    """
    return (z[edges[0]] * z[edges[1]]).sum(-1)


def kl_loss(mu: Tensor, logstd: Tensor) -> Tensor:
    r"""The VGAE's KL term as in the paper's code: the mean over nodes of
    :math:`\mathrm{KL}(\mathcal N(\mu_i, \sigma_i^2) \,\|\, \mathcal N(0, I))`, divided by
    :math:`N`,

    .. math::
        \frac{1}{N} \cdot \frac{1}{N} \sum_{i=1}^N -\frac12 \sum_{d=1}^D
        \left(1 + 2 \log\sigma_{id} - \mu_{id}^2 - \sigma_{id}^2\right)

    (PyG's ``VGAE.kl_loss()`` is the same without the :math:`1/N`; its example multiplies by
    ``1 / num_nodes``). The :math:`1/N^2` matches the reconstruction term, a mean over the
    :math:`N^2` entries of :math:`A` in the paper.

    Shapes:
        mu ``(N, D)``, logstd ``(N, D)``, out ``()``.

    >>> kl_loss(torch.zeros(4, 2), torch.zeros(4, 2))  # q = prior
    tensor(0.)
    """
    n = mu.size(0)
    per_node = -0.5 * (1 + 2 * logstd - mu**2 - logstd.exp() ** 2).sum(-1)  # (N,)
    return per_node.mean() / n


class GAE(nn.Module):
    r"""Graph auto-encoder (Kipf & Welling 2016, https://arxiv.org/abs/1611.07308): a
    two-layer GCN encoder and the inner-product decoder :math:`\sigma(Z Z^\top)`.

    .. math::
        Z = \hat A\, \mathrm{ReLU}(\hat A X W_0 + b_0)\, W_1 + b_1

    Args:
        in_channels: input node features ``F_in``.
        hidden_channels: width of the first GCN layer (paper: 32).
        out_channels: embedding size ``D`` (paper: 16).
        dropout: dropout on the inputs of both layers (paper: 0 on Cora).
        bias: learn the biases :math:`b_0, b_1` (PyG's ``GCNConv`` default; the paper's code
            has none).

    Submodules ``conv1``, ``conv2`` (:class:`~geodl.nn.GCNConv`) have PyG ``GCNConv``'s
    parameter names, so an encoder of PyG layers with those attribute names loads this
    model's ``state_dict``.

    Shapes:
        - x ``(N, F_in)``, edge_index ``(2, E)`` (or a graph carrying both)
        - out ``Z`` ``(N, D)``

    >>> ring = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    >>> model = GAE(5, 8, 4)
    >>> z = model(torch.randn(4, 5), ring)
    >>> z.shape, model.decode(z, ring).shape
    (torch.Size([4, 4]), torch.Size([4]))
    """

    def __init__(self, in_channels: int, hidden_channels: int = 32, out_channels: int = 16,
                 *, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        for value, name in ((in_channels, "in_channels"), (hidden_channels, "hidden_channels"),
                            (out_channels, "out_channels")):
            check_positive_int(value, name)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.out_channels, self.dropout = out_channels, dropout
        self.conv1 = GCNConv(in_channels, hidden_channels, bias=bias)
        self._heads(bias)

    def _heads(self, bias: bool) -> None:
        self.conv2 = GCNConv(self.hidden_channels, self.out_channels, bias=bias)

    def reset_parameters(self) -> None:
        for module in self.children():
            module.reset_parameters()

    def _hidden(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = x.float() if not x.is_floating_point() else x
        h = F.dropout(x, self.dropout, self.training)
        h = F.relu(self.conv1(h, edge_index))  # (N, hidden)
        return F.dropout(h, self.dropout, self.training)

    def encode(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The embeddings ``Z`` ``(N, D)``."""
        return self.conv2(self._hidden(x, edge_index), edge_index)

    def forward(self, x: Tensor | Data, edge_index: Tensor | None = None) -> Tensor:
        """``model(x, edge_index)`` or ``model(graph)``: the embeddings ``Z`` ``(N, D)``."""
        if isinstance(x, Data):
            x, edge_index = x.x, x.edge_index
        if edge_index is None:
            raise TypeError("call model(x, edge_index) or model(graph); edge_index is missing.")
        return self.encode(x, edge_index)

    @staticmethod
    def decode(z: Tensor, edges: Tensor, sigmoid: bool = True) -> Tensor:
        """Edge probabilities :math:`\\sigma(z_i^\\top z_j)` ``(E,)`` (logits if not
        ``sigmoid``) for the pairs ``edges`` ``(2, E)``."""
        logits = inner_product_decode(z, edges)  # (E,)
        return torch.sigmoid(logits) if sigmoid else logits

    def recon_loss(self, z: Tensor, pos: Tensor, neg: Tensor | None = None) -> Tensor:
        r"""Reconstruction loss, PyG's ``GAE.recon_loss``: the mean binary cross-entropy on
        the edges ``pos`` plus that on the non-edges ``neg``,

        .. math::
            -\frac{1}{|P|} \sum_{(i,j) \in P} \log \sigma(z_i^\top z_j)
            - \frac{1}{|Q|} \sum_{(i,j) \in Q} \log (1 - \sigma(z_i^\top z_j)).

        ``neg=None`` samples as many non-edges of ``pos`` as it has edges (PyG's
        ``negative_sampling``, torch's and Python's global RNGs). This is twice
        :func:`geodl.tasks.gae_loss` when ``|P| = |Q|``, and an unbiased estimate of twice the
        paper's class-balanced loss over all :math:`N^2` entries of :math:`A`.

        Shapes:
            z ``(N, D)``, pos ``(2, P)``, neg ``(2, Q)``, out ``()``.
        """
        if neg is None:
            from torch_geometric.utils import negative_sampling

            neg = negative_sampling(pos, z.size(0))
        pos_loss = -F.logsigmoid(inner_product_decode(z, pos)).mean()
        neg_loss = -F.logsigmoid(-inner_product_decode(z, neg)).mean()  # log(1 - sigmoid(s))
        return pos_loss + neg_loss


class VGAE(GAE):
    r"""Variational graph auto-encoder (Kipf & Welling 2016, https://arxiv.org/abs/1611.07308).

    .. math::
        H = \mathrm{ReLU}(\hat A X W_0 + b_0), \quad \mu = \hat A H W_\mu + b_\mu, \quad
        \log\sigma = \hat A H W_\sigma + b_\sigma, \quad
        Z = \begin{cases} \mu + \sigma \odot \epsilon, \ \epsilon \sim \mathcal N(0, I)
            & \text{training} \\ \mu & \text{evaluation} \end{cases}

    :math:`\log\sigma` is clamped at :data:`MAX_LOGSTD` (as PyG). Each call of
    :meth:`encode` keeps its ``mu`` and ``logstd`` on the model for :meth:`kl_loss`, as PyG's
    ``VGAE`` does; the training loss is ``recon + kl_loss()``
    (:class:`~geodl.tasks.LinkPrediction` adds it for any model with a ``kl_loss`` method).
    Until the next evaluation those tensors hold the training step's autograd graph, so
    ``copy.deepcopy(model)`` right after a training forward fails (copy ``state_dict()``, as
    :func:`~geodl.tasks.fit` does).

    Args: as :class:`GAE`; the heads are ``conv_mu`` and ``conv_logstd``.

    Shapes:
        - x ``(N, F_in)``, edge_index ``(2, E)`` (or a graph carrying both)
        - out ``Z`` ``(N, D)``; ``model.mu``, ``model.logstd`` ``(N, D)``

    >>> ring = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    >>> model = VGAE(5, 8, 4).eval()
    >>> z = model(torch.randn(4, 5), ring)
    >>> torch.equal(z, model.mu), model.kl_loss().shape
    (True, torch.Size([]))
    """

    mu: Tensor | None
    logstd: Tensor | None

    def _heads(self, bias: bool) -> None:
        self.conv_mu = GCNConv(self.hidden_channels, self.out_channels, bias=bias)
        self.conv_logstd = GCNConv(self.hidden_channels, self.out_channels, bias=bias)
        self.mu = self.logstd = None

    def encode(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """``Z`` ``(N, D)``: a sample in training, ``mu`` in evaluation."""
        h = self._hidden(x, edge_index)  # (N, hidden)
        self.mu = self.conv_mu(h, edge_index)  # (N, D)
        self.logstd = self.conv_logstd(h, edge_index).clamp(max=MAX_LOGSTD)  # (N, D)
        return self.reparametrize(self.mu, self.logstd)

    def reparametrize(self, mu: Tensor, logstd: Tensor) -> Tensor:
        """``mu + exp(logstd) * eps`` in training (torch's global RNG), ``mu`` in evaluation."""
        if self.training:
            return mu + torch.randn_like(logstd) * logstd.exp()
        return mu

    def kl_loss(self, mu: Tensor | None = None, logstd: Tensor | None = None) -> Tensor:
        """:func:`kl_loss` of ``mu`` and ``logstd``; default those of the last :meth:`encode`."""
        mu = self.mu if mu is None else mu
        logstd = self.logstd if logstd is None else logstd.clamp(max=MAX_LOGSTD)
        if mu is None or logstd is None:
            raise RuntimeError("VGAE.kl_loss() needs mu and logstd: call the model (encode) "
                               "first, or pass mu= and logstd=.")
        return kl_loss(mu, logstd)

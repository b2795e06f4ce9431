"""Trials of the ``link`` suite: GAE and VGAE link prediction on Cora, then node clustering.

Kipf & Welling 2016, "Variational Graph Auto-Encoders", https://arxiv.org/abs/1611.07308: the
paper's protocol on Cora. Edge split 85 / 5 / 10 % of the undirected edges
(:func:`geodl.tasks.edge_split`, seeded), as many non-edges for validation and test; the
binary bag-of-words features as they are; encoder GCN 32 -> 16 (VGAE: mu and log-sigma heads),
ReLU, no dropout; Adam lr 0.01, 200 epochs, the final model (no early stopping). Loss: the
paper's class-balanced cross-entropy over all ``N^2`` node pairs against ``A + I``
(``LinkPrediction(negatives="all")``) ``+ KL / N`` for the VGAE; ``negatives="sampled"``
estimates it on fresh sampled non-edges (~3x faster, ~1.4 AUC points lower for the GAE).

Then k-means (k = 7, 10 restarts) on the embeddings ``Z`` (the VGAE's ``mu``) of the trained
model against the 7 topics: ``cluster_acc`` (best matching), ``nmi``, ``ari`` (Pan et al. 2018,
ARGA, https://arxiv.org/abs/1802.04407, report GAE 59.6 / 42.9 / 34.7 and VGAE 60.9 / 43.6 /
34.6 %, trained on the whole graph).

The PyG twin is ``torch_geometric.nn.GAE`` / ``VGAE`` around PyG ``GCNConv`` layers (PyG's
example encoder, its ``kl_loss`` divided by ``N``), from the same initial weights, trained by
the same :func:`~geodl.tasks.fit` call on the same split, loss and seed.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from geodl.bench.experiments import Outcome, count_parameters

__all__ = ["link_prediction", "PyGEncoder", "pyg_autoencoder"]


class PyGEncoder(nn.Module):
    """PyG's GAE / VGAE example encoder (``GCNConv`` hidden -> latent), with geodl's
    attribute names, so geodl's encoder weights load into it."""

    def __init__(self, in_channels: int, hidden: int, latent: int, variational: bool):
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.variational = variational
        self.conv1 = GCNConv(in_channels, hidden)
        if variational:
            self.conv_mu, self.conv_logstd = GCNConv(hidden, latent), GCNConv(hidden, latent)
        else:
            self.conv2 = GCNConv(hidden, latent)

    def forward(self, x, edge_index):
        h = self.conv1(x, edge_index).relu()
        if self.variational:
            return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)
        return self.conv2(h, edge_index)


def pyg_autoencoder(model: str, in_channels: int, hidden: int, latent: int) -> nn.Module:
    """PyG's ``GAE`` / ``VGAE`` (KL divided by ``N``, the paper's normalisation)."""
    from torch_geometric.nn import GAE, VGAE

    if model == "GAE":
        return GAE(PyGEncoder(in_channels, hidden, latent, False))

    class PaperVGAE(VGAE):
        def kl_loss(self, mu=None, logstd=None):  # PyG's example: (1 / N) * kl_loss()
            kl = super().kl_loss(mu, logstd)
            return kl / (self.__mu__ if mu is None else mu).size(0)
    return PaperVGAE(PyGEncoder(in_channels, hidden, latent, True))


def link_prediction(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """``exp.model`` (``"GAE"`` / ``"VGAE"``) on Cora's edge split ``seed``: test ``auc``
    and ``ap``, then k-means clustering scores of its embeddings (fractions)."""
    from geodl.datasets import load_planetoid
    from geodl.models.autoencoder import GAE, VGAE
    from geodl.tasks import LinkPrediction, edge_split, fit, node_clustering

    if exp.model not in ("GAE", "VGAE") or impl not in ("geodl", "pyg"):
        raise ValueError(f"model={exp.model!r}, impl={impl!r}; choose GAE or VGAE, and "
                         "'geodl' or 'pyg'.")
    g = load_planetoid("Cora", root=root)
    hidden, latent = int(config["hidden"]), int(config["latent"])
    split = edge_split(g, val=0.05, test=0.1, seed=seed)
    torch.manual_seed(seed)
    ours = (GAE if exp.model == "GAE" else VGAE)(g.num_features, hidden, latent)
    if impl == "geodl":
        net, task = ours, LinkPrediction(split, negatives=config["negatives"])
    else:
        net = pyg_autoencoder(exp.model, g.num_features, hidden, latent)
        net.encoder.load_state_dict(ours.state_dict())  # same initial weights
        task = LinkPrediction(split, negatives=config["negatives"],
                              forward=lambda m, d: m.encode(d.x, d.edge_index))
    with warnings.catch_warnings():  # torch flags sparse CSR as beta
        warnings.simplefilter("ignore")
        hist = fit(net, task, epochs=int(config["epochs"]), lr=float(config["lr"]),
                   patience=None, restore_best=False, seed=seed, progress=False)
    net.eval()
    scores = task.evaluate(net, "test")
    with torch.no_grad():
        z = task.forward(net, split.train_graph)  # (N, latent); the VGAE's mu
    clusters = node_clustering(z, g.y, int(config["clusters"]), seed=seed)
    metrics = {f"test_{k}": float(v) for k, v in scores.items()}
    metrics |= {"cluster_acc": float(clusters["acc"]), "nmi": float(clusters["nmi"]),
                "ari": float(clusters["ari"]), "epochs": float(hist.epochs)}
    return Outcome(metrics, params=count_parameters(net), train_time=sum(hist.time),
                   history=hist.to_dict())

r"""Node clustering from embeddings: k-means, and scores against the true classes.

The protocol of the graph auto-encoder literature (e.g. Pan et al. 2018, ARGA,
https://arxiv.org/abs/1802.04407): train an encoder without labels, run k-means with
``k`` = the number of classes on the node embeddings ``Z`` ``(N, D)``, and compare the
clusters with the classes by

- **accuracy** under the best one-to-one matching of clusters to classes (the Hungarian
  algorithm on the contingency table, :func:`scipy.optimize.linear_sum_assignment`),
- **NMI**, normalised mutual information (arithmetic mean normalisation, scikit-learn's
  default), and
- **ARI**, the adjusted Rand index (0 for a random labelling, 1 for a perfect one).

k-means and the two information scores come from scikit-learn (imported when called).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from geodl.graph.validation import check_option, check_positive_int

__all__ = ["kmeans", "cluster_accuracy", "clustering_scores", "node_clustering"]


def _numpy_labels(labels: Tensor | np.ndarray, name: str) -> np.ndarray:
    arr = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iub"):
        raise ValueError(f"{name} must be a 1-D tensor of integer labels (N,), got dtype "
                         f"{arr.dtype} and shape {arr.shape}.")
    return arr.astype(np.int64)


def kmeans(z: Tensor, num_clusters: int, *, seed: int = 0, n_init: int = 10) -> Tensor:
    """k-means (Lloyd's algorithm, k-means++ starts) on the rows of ``z``.

    scikit-learn's ``KMeans``; the best of ``n_init`` starts by inertia; ``seed`` fixes the
    result (the global RNGs are left alone).

    Args:
        z: embeddings, one row per node.
        num_clusters: ``k``.
        seed: seed of the k-means++ starts.
        n_init: restarts.

    Shapes:
        z ``(N, D)``, out ``(N,)`` long cluster ids in ``[0, k)``.

    >>> z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.0, 5.1]])
    >>> kmeans(z, 2).tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
    True
    """
    from sklearn.cluster import KMeans

    num_clusters = check_positive_int(num_clusters, "num_clusters")
    n_init = check_positive_int(n_init, "n_init")
    if z.dim() != 2 or z.size(0) < num_clusters:
        raise ValueError(f"z must be (N, D) with N >= num_clusters={num_clusters}, got shape "
                         f"{tuple(z.shape)}.")
    x = z.detach().cpu().double().numpy()
    km = KMeans(n_clusters=num_clusters, n_init=n_init, random_state=seed).fit(x)
    return torch.from_numpy(km.labels_.astype(np.int64))


def cluster_accuracy(pred: Tensor, target: Tensor) -> float:
    r"""Accuracy of cluster ids ``pred`` against classes ``target`` under the best one-to-one
    matching of clusters to classes:

    .. math::
        \max_{\pi} \frac{1}{N} \sum_{i=1}^N [\pi(\hat y_i) = y_i],

    over injective maps :math:`\pi` from clusters to classes (clusters left unmatched when
    there are more clusters than classes count as wrong), found by the Hungarian algorithm on
    the contingency table.

    Shapes:
        pred ``(N,)``, target ``(N,)`` integer labels; out: a float in ``[0, 1]``.

    >>> cluster_accuracy(torch.tensor([1, 1, 0, 0, 2]), torch.tensor([0, 0, 1, 1, 1]))
    0.8
    """
    from scipy.optimize import linear_sum_assignment

    p, t = _numpy_labels(pred, "pred"), _numpy_labels(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same length, got {p.size} and "
                         f"{t.size}.")
    if p.size == 0:
        return float("nan")
    _, p = np.unique(p, return_inverse=True)  # ids -> 0 .. k-1
    _, t = np.unique(t, return_inverse=True)
    table = np.zeros((p.max() + 1, t.max() + 1), dtype=np.int64)  # (clusters, classes)
    np.add.at(table, (p, t), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / p.size)


def clustering_scores(pred: Tensor, target: Tensor) -> dict[str, float]:
    """``{"acc": ..., "nmi": ..., "ari": ...}`` of clusters ``pred`` against classes
    ``target`` (:func:`cluster_accuracy`; scikit-learn's ``normalized_mutual_info_score`` and
    ``adjusted_rand_score``). All three ignore how the clusters are numbered.

    Shapes:
        pred ``(N,)``, target ``(N,)`` integer labels.

    >>> clustering_scores(torch.tensor([1, 1, 0, 0]), torch.tensor([0, 0, 1, 1]))
    {'acc': 1.0, 'nmi': 1.0, 'ari': 1.0}
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    p, t = _numpy_labels(pred, "pred"), _numpy_labels(target, "target")
    return {"acc": cluster_accuracy(pred, target),
            "nmi": float(normalized_mutual_info_score(t, p)),
            "ari": float(adjusted_rand_score(t, p))}


def node_clustering(z: Tensor, target: Tensor, num_clusters: int | None = None, *,
                    method: Literal["kmeans"] = "kmeans", seed: int = 0,
                    n_init: int = 10) -> dict[str, float]:
    """Cluster node embeddings and score the clusters against the classes.

    Args:
        z: node embeddings (e.g. a GAE's ``Z``, or a VGAE's ``mu`` in evaluation mode).
        target: the true classes.
        num_clusters: ``k``; default the number of distinct classes in ``target``.
        method: ``"kmeans"`` (:func:`kmeans`).
        seed, n_init: of :func:`kmeans`.

    Returns:
        :func:`clustering_scores`: ``acc``, ``nmi``, ``ari``.

    Shapes:
        z ``(N, D)``, target ``(N,)``.
    """
    check_option(method, ["kmeans"], "method")
    if z.size(0) != target.numel():
        raise ValueError(f"z has {z.size(0)} rows but target has {target.numel()} labels; "
                         "pass one class per node.")
    if num_clusters is None:
        num_clusters = int(torch.unique(target).numel())
    pred = kmeans(z, num_clusters, seed=seed, n_init=n_init)
    return clustering_scores(pred, target)

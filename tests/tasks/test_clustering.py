"""Node clustering: k-means on embeddings, accuracy under the best matching, NMI, ARI."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from geodl.graph.convert import from_networkx
from geodl.models.autoencoder import GAE
from geodl.tasks.clustering import cluster_accuracy, clustering_scores, kmeans, node_clustering
from geodl.tasks.link import LinkPrediction, edge_split
from geodl.tasks.loop import fit


def brute_force_accuracy(pred, target):
    """The best accuracy over every injective map of clusters to classes (small k only)."""
    clusters, classes = sorted(set(pred)), sorted(set(target))
    best = 0
    slots = classes + [None] * max(0, len(clusters) - len(classes))  # None = unmatched
    for perm in itertools.permutations(slots, len(clusters)):
        mapping = dict(zip(clusters, perm))
        best = max(best, sum(mapping[p] == t for p, t in zip(pred, target)))
    return best / len(pred)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=25))
def test_accuracy_equals_brute_force_matching(pairs):
    pred, target = [p for p, _ in pairs], [t for _, t in pairs]
    acc = cluster_accuracy(torch.tensor(pred), torch.tensor(target))
    assert math.isclose(acc, brute_force_accuracy(pred, target))


@given(st.lists(st.integers(0, 4), min_size=2, max_size=30), st.permutations(range(5)))
def test_scores_ignore_cluster_numbering(target, perm):
    t = torch.tensor(target)
    relabelled = torch.tensor(perm)[t]  # the same partition, other ids
    assert clustering_scores(relabelled, t)["acc"] == 1.0
    scores = clustering_scores(relabelled, t)
    assert math.isclose(scores["nmi"], normalized_mutual_info_score(target, target))
    assert math.isclose(scores["ari"], adjusted_rand_score(target, target))


def test_scores_by_hand():
    pred, target = torch.tensor([0, 0, 1, 1, 1, 2]), torch.tensor([1, 1, 0, 0, 2, 2])
    s = clustering_scores(pred, target)
    assert s["acc"] == pytest.approx(5 / 6)
    # ARI by the pair-counting formula (Hubert & Arabie 1985)
    table = np.array([[0, 2, 0], [2, 0, 1], [0, 0, 1]])
    comb = lambda n: n * (n - 1) / 2  # noqa: E731
    index = sum(comb(v) for v in table.ravel())
    a, b = sum(comb(v) for v in table.sum(1)), sum(comb(v) for v in table.sum(0))
    expected = (index - a * b / comb(6)) / ((a + b) / 2 - a * b / comb(6))
    assert s["ari"] == pytest.approx(expected, abs=1e-12)
    # NMI = I(P; T) / mean(H(P), H(T)) from the contingency table
    p = table / 6
    mi = sum(p[i, j] * math.log(p[i, j] / (p[i].sum() * p[:, j].sum()))
             for i in range(3) for j in range(3) if p[i, j])
    entropy = lambda q: -sum(v * math.log(v) for v in q if v)  # noqa: E731
    assert s["nmi"] == pytest.approx(mi / ((entropy(p.sum(1)) + entropy(p.sum(0))) / 2),
                                     abs=1e-12)


def test_kmeans_finds_separated_blobs_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    y = torch.arange(3).repeat_interleave(20)
    z = centres[y] + torch.randn(60, 2, generator=g)  # (60, 2)
    state = torch.get_rng_state()
    labels = kmeans(z, 3, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(labels, kmeans(z, 3, seed=1)) and labels.dtype == torch.long
    assert node_clustering(z, y) == {"acc": 1.0, "nmi": 1.0, "ari": 1.0}


def test_gae_embeddings_cluster_a_planted_partition():
    graph = from_networkx(nx.planted_partition_graph(4, 20, 0.4, 0.02, seed=0))
    graph.x = torch.eye(80)
    y = torch.arange(4).repeat_interleave(20)  # the blocks
    task = LinkPrediction(edge_split(graph, val=0.1, test=0.2, seed=0))
    torch.manual_seed(0)
    model = GAE(80, 16, 8)
    fit(model, task, epochs=100, progress=False)
    scores = node_clustering(model.eval()(task.split.train_graph).detach(), y)
    assert scores["nmi"] >= 0.85 and scores["acc"] >= 0.9  # measured: 0.964 and 0.9875


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="pred must be a 1-D tensor of integer labels"):
        cluster_accuracy(torch.tensor([0.5, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="same length"):
        cluster_accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="N >= num_clusters=3"):
        kmeans(torch.zeros(2, 2), 3)
    with pytest.raises(ValueError, match="z has 2 rows but target has 3"):
        node_clustering(torch.zeros(2, 2), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="method='spectral' is not a valid option"):
        node_clustering(torch.zeros(2, 2), torch.tensor([0, 1]), method="spectral")

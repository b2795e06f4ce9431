"""Skip-gram with negative sampling: pairs of the path graph, the loss against a hand-computed
value, training separates the communities of a two-clique graph, deterministic for a seed."""

import math

import pytest
import torch

from geodl.graph import random_walk
from geodl.models import SkipGram
from geodl.tasks import SkipGramTask, fit, noise_distribution, sgns_loss, skipgram_pairs


def test_pairs_are_the_window_hop_edges_of_the_path_graph():
    pairs = skipgram_pairs(torch.tensor([[5, 6, 7, -1]]), 2)
    got = sorted(map(tuple, pairs.t().tolist()))
    assert got == sorted([(5, 6), (6, 5), (6, 7), (7, 6), (5, 7), (7, 5)])


def test_sgns_loss_hand_computed():
    model = SkipGram(3, 2)
    with torch.no_grad():
        model.input.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
        model.output.weight.copy_(torch.tensor([[0.5, 0.5], [1.0, -1.0], [0.0, 1.0]]))
    center, context, negatives = torch.tensor([0]), torch.tensor([2]), torch.tensor([[1, 0]])
    # s+ = u0.v2 = 0; s- = u0.v1 = 1, u0.v0 = 0.5
    expected = -(math.log(0.5) + math.log(1 / (1 + math.e)) + math.log(1 / (1 + math.exp(0.5))))
    loss = sgns_loss(model(center, context), model(center, negatives))
    assert abs(loss.detach().item() - expected) < 1e-6


def test_noise_is_unigram_to_three_quarters():
    noise = noise_distribution(torch.tensor([0, 0, 0, 0, 1, -1]), 3)
    w = torch.tensor([4 ** 0.75, 1.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(noise, w / w.sum())


def _two_cliques():
    a = [(i, j) for i in range(6) for j in range(6) if i != j]
    edges = a + [(i + 6, j + 6) for i, j in a] + [(0, 6), (6, 0)]
    return torch.tensor(edges).t()


def _train(seed):
    ei = _two_cliques()
    torch.manual_seed(seed)
    task = SkipGramTask(lambda: random_walk(ei, 12, torch.arange(12).repeat(10), 10),
                        12, window=3, num_negatives=3, batch_size=256)
    model = SkipGram(12, 8)
    fit(model, task, epochs=15, lr=0.05, seed=seed, progress=False)
    return model.embedding()


def test_node2vec_separates_two_cliques_and_is_deterministic():
    z = torch.nn.functional.normalize(_train(0), dim=1)
    sim = z @ z.t()
    same = torch.arange(12) // 6
    inside = sim[same[:, None] == same[None, :]].mean()
    across = sim[same[:, None] != same[None, :]].mean()
    assert inside > across + 0.3
    torch.testing.assert_close(_train(0), _train(0), rtol=0, atol=0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="num_embeddings"):
        SkipGramTask(torch.tensor([[0, 5]]), 3)
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs(torch.tensor([[0, 1]]), 0)

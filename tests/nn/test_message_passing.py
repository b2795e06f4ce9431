import pytest
import torch

from geodl.nn import propagate

# 0 -> 2, 1 -> 2, 2 -> 0, 3 isolated
EDGES = torch.tensor([[0, 1, 2], [2, 2, 0]])
X = torch.tensor([[1.0, -1.0], [3.0, 5.0], [2.0, 0.0], [7.0, 7.0]], dtype=torch.float64)


@pytest.mark.parametrize("aggregate, node2", [
    ("sum", [4.0, 4.0]), ("mean", [2.0, 2.0]), ("max", [3.0, 5.0])])
def test_aggregations_by_hand(aggregate, node2):
    out = propagate(X, EDGES, aggregate=aggregate)
    expected = torch.tensor([[2.0, 0.0], [0.0, 0.0], node2, [0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected)


def test_edge_weight_scales_messages():
    out = propagate(X, EDGES, edge_weight=torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64))
    torch.testing.assert_close(out[2], 2 * X[0] + 0.5 * X[1])


def test_softmax_equal_logits_is_mean():
    out = propagate(X, EDGES, aggregate="softmax", attention=torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(out, propagate(X, EDGES, aggregate="mean"))


def test_softmax_matches_a_loop_multihead():
    torch.manual_seed(0)
    n, e, h, c = 6, 15, 3, 2
    edge_index = torch.randint(0, n, (2, e))
    x = torch.randn(n, h, c, dtype=torch.float64)  # (N, H, C)
    logits = torch.randn(e, h, dtype=torch.float64)  # (E, H)
    out = propagate(x, edge_index, aggregate="softmax", attention=logits)
    expected = torch.zeros_like(x)
    for i in range(n):
        incoming = (edge_index[1] == i).nonzero().view(-1)
        if incoming.numel():
            alpha = logits[incoming].softmax(dim=0)  # (k, H)
            expected[i] = (alpha.unsqueeze(-1) * x[edge_index[0, incoming]]).sum(0)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_message_update_and_attention_functions():
    def message(x_j, x_i, e):
        return x_j - x_i + e

    e = torch.ones(3, 2, dtype=torch.float64)
    out = propagate(X, EDGES, message=message, edge_attr=e, update=lambda x, a: x + a)
    torch.testing.assert_close(out[2], X[2] + (X[0] - X[2] + 1) + (X[1] - X[2] + 1))
    torch.testing.assert_close(out[3], X[3])  # no incoming edge: a_3 = 0

    def score(x_j, x_i, e):
        return (x_j * x_i).sum(-1)

    att = propagate(X, EDGES, aggregate="softmax", attention=score)
    alpha = torch.stack([(X[0] * X[2]).sum(), (X[1] * X[2]).sum()]).softmax(0)
    torch.testing.assert_close(att[2], alpha[0] * X[0] + alpha[1] * X[1])


def test_global_update_pools_per_graph():
    batch = torch.tensor([0, 0, 0, 1])
    out, u = propagate(X, EDGES, batch=batch, global_update=lambda pooled, u: pooled * 10,
                       global_aggregate="sum")
    torch.testing.assert_close(u, 10 * torch.stack([out[:3].sum(0), out[3]]))
    _, u1 = propagate(X, EDGES, u=torch.zeros(1, 2, dtype=torch.float64),
                      global_update=lambda pooled, u: pooled + u)
    torch.testing.assert_close(u1, out.mean(0, keepdim=True))


def test_attention_dropout_only_in_training():
    logits = torch.zeros(3, dtype=torch.float64)
    kwargs = dict(aggregate="softmax", attention=logits, attention_dropout=0.9)
    torch.testing.assert_close(propagate(X, EDGES, **kwargs),
                               propagate(X, EDGES, aggregate="mean"))
    dropped = propagate(X, EDGES, training=True, **kwargs)
    assert dropped.shape == X.shape


def test_empty_graph():
    out = propagate(torch.randn(0, 2), torch.empty(2, 0, dtype=torch.long), aggregate="max")
    assert out.shape == (0, 2)


def test_errors_teach():
    with pytest.raises(ValueError, match="needs attention logits"):
        propagate(X, EDGES, aggregate="softmax")
    with pytest.raises(ValueError, match="only used with aggregate='softmax'"):
        propagate(X, EDGES, attention=torch.zeros(3))
    with pytest.raises(ValueError, match="aggregate='min' is not a valid option"):
        propagate(X, EDGES, aggregate="min")
    with pytest.raises(ValueError, match="num_nodes"):
        propagate(X[:2], EDGES)

"""Bad input to the GNN models: hyper-parameters refused at construction, features of the wrong
width or rank at the call; and GIN's dropout acts before the prediction heads only."""

import pytest
import torch

from geodl.models import GAT, GCN, GIN, GNNConfig
from tests.bad_input import assert_refused, case_id

EI = torch.tensor([[0, 1, 2], [1, 2, 0]])

CASES = [
    ("zero in_channels", lambda: GCN(in_channels=0, out_channels=2), ValueError,
     ["in_channels"]),
    ("negative hidden", lambda: GNNConfig(in_channels=3, hidden_channels=-1), ValueError,
     ["hidden_channels"]),
    ("zero layers", lambda: GCN(in_channels=3, num_layers=0), ValueError, ["num_layers"]),
    ("float layers", lambda: GCN(in_channels=3, num_layers=2.0), TypeError, ["num_layers"]),
    ("GIN dropout 1.5", lambda: GIN(in_channels=3, dropout=1.5), ValueError, ["dropout"]),
    ("GAT dropout NaN", lambda: GAT(in_channels=3, dropout=float("nan")), ValueError,
     ["dropout"]),
    ("norm option", lambda: GIN(in_channels=3, norm="group"), ValueError, ["norm"]),
    ("GCN wrong width", lambda: GCN(in_channels=3, out_channels=2)(torch.randn(3, 4), EI),
     ValueError, ["in_channels=3", "4 features"]),
    ("GIN 1-D x", lambda: GIN(in_channels=1, out_channels=2, readout="sum")(torch.randn(3), EI),
     ValueError, ["x", "view(-1, 1)"]),
    ("GAT wrong width", lambda: GAT(in_channels=3, out_channels=2)(torch.randn(3, 2), EI),
     ValueError, ["in_channels=3"]),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_refused(case):
    _, call, exc, words = case
    assert_refused(call, exc, *words)


def test_gin_dropout_only_before_the_heads(monkeypatch):
    """Xu et al.: dropout on the pooled representations, never on a layer's input."""
    import torch.nn.functional as F

    seen = []
    real = F.dropout

    def spy(x, p=0.5, training=True, inplace=False):
        seen.append(tuple(x.shape))
        return real(x, p, training, inplace)

    monkeypatch.setattr(F, "dropout", spy)
    batch = torch.tensor([0, 0, 1])
    for jk, heads in ((False, 1), (True, 3)):  # JK: one head per layer 0..2
        seen.clear()
        model = GIN(in_channels=4, hidden_channels=8, out_channels=2, num_layers=2,
                    readout="sum", dropout=0.5, jumping_knowledge=jk).train()
        model(torch.randn(3, 4), EI, batch=batch)
        assert len(seen) == heads and all(s[0] == 2 for s in seen)  # (B, F): pooled only
    seen.clear()
    GCN(in_channels=4, hidden_channels=8, out_channels=2, dropout=0.5).train()(
        torch.randn(3, 4), EI)
    assert seen == [(3, 4), (3, 8)]  # GCN keeps Kipf & Welling's dropout before every layer

import pytest
import torch
from torch import nn

from geodl.models.rnn import (
    Forecaster,
    RNNConfig,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceTagger,
)


def _same(a, b):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_fast_equals_generic_for_every_model(cell, bidirectional):
    cfg = RNNConfig(3, 5, 4, cell=cell, num_layers=2, bidirectional=bidirectional)
    seq, tgt = torch.randn(2, 6, 3, dtype=torch.float64), torch.randn(2, 4, 2, dtype=torch.float64)
    models = [
        (SequenceTagger(cfg), (seq,), (2, 6, 4)),
        (SequenceClassifier(cfg), (seq,), (2, 4)),
        (Forecaster(cfg, horizon=3), (seq,), (2, 3)),
        (Forecaster(cfg, horizon=3, targets=2), (seq,), (2, 3, 2)),
        (SequenceGenerator(cfg), (seq[:, 0], 7), (2, 7, 4)),
        (Seq2Seq(cfg, target_size=2), (seq, tgt), (2, 4, 4)),
    ]
    for model, args, shape in models:
        model = model.double()
        out = model(*args)
        assert out.shape == shape, type(model).__name__
        _same(out, model(*args, fast=False))


def test_classifier_reads_both_final_states():
    cfg = RNNConfig(2, 3, 1, cell="gru", num_layers=2, bidirectional=True)
    model = SequenceClassifier(cfg).double()
    seq = torch.randn(4, 5, 2, dtype=torch.float64)
    ref = nn.GRU(2, 3, 2, batch_first=True, bidirectional=True).double()
    ref.load_state_dict(model.rnn.rnn.state_dict())
    out, h_n = ref(seq)
    # forward direction: state after the last step; backward: after the first
    _same(h_n[-2], out[:, -1, :3])
    _same(h_n[-1], out[:, 0, 3:])
    _same(model(seq), model.head(torch.cat([h_n[-2], h_n[-1]], 1)))


def test_generator_state_and_inputs():
    cfg = RNNConfig(3, 4, 2, cell="rnn")
    model = SequenceGenerator(cfg).double()
    v = torch.randn(2, 3, dtype=torch.float64)
    ref = nn.RNN(3, 4, batch_first=True).double()
    ref.load_state_dict(model.rnn.rnn.state_dict())
    out, _ = ref(v.unsqueeze(1).expand(2, 5, 3), torch.tanh(model.init(v)).unsqueeze(0))
    _same(model(v, 5), model.head(out))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_seq2seq_generate_is_forward_on_its_own_predictions(cell):
    model = Seq2Seq(RNNConfig(3, 6, 2, cell=cell, bidirectional=True)).double()
    src, start = torch.randn(2, 4, 3, dtype=torch.float64), torch.randn(2, 2, dtype=torch.float64)
    pred = model.generate(src, start, steps=5)
    assert pred.shape == (2, 5, 2)
    with torch.no_grad():
        _same(model(src, torch.cat([start.unsqueeze(1), pred[:, :-1]], 1)), pred)


def test_forecaster_learns_a_sine():
    torch.manual_seed(0)
    t = torch.arange(400.0)
    series = torch.sin(2 * torch.pi * t / 25)
    windows = series.unfold(0, 21, 1)  # (380, 21)
    x, y = windows[:, :20, None], windows[:, 20:]
    model = Forecaster(RNNConfig(1, 16, cell="lstm"), horizon=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    first = None
    for _ in range(60):
        loss = nn.functional.mse_loss(model(x), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first


def test_bad_arguments():
    with pytest.raises(ValueError, match="cell='transformer'"):
        RNNConfig(3, cell="transformer")
    with pytest.raises(ValueError, match="hidden_size"):
        RNNConfig(3, hidden_size=0)
    with pytest.raises(ValueError, match="dropout=1.5"):
        RNNConfig(3, dropout=1.5)
    with pytest.raises(ValueError, match=r"seq must be a batch-first sequence \(B, T, C\)"):
        SequenceTagger(RNNConfig(3))(torch.randn(6, 3))
    with pytest.raises(ValueError, match="v must have shape"):
        SequenceGenerator(RNNConfig(3))(torch.randn(2, 4), 5)
    with pytest.raises(ValueError, match="output_size"):
        Seq2Seq(RNNConfig(3, output_size=4), target_size=2).generate(
            torch.randn(1, 2, 3), torch.randn(1, 2), 3)
    with pytest.raises(ValueError, match="horizon"):
        Forecaster(RNNConfig(1), horizon=0)

"""The trials ported from the old benchmark scripts, on tiny configurations: each runs, its
twin agrees where it is one, and a bad implementation name is refused."""

import dataclasses

import pytest

from geodl.bench import link, tensors, transformers
from geodl.bench.suites import SUITES


def _exp(suite: str, model: str, **config):
    exp = next(e for e in SUITES[suite].experiments if e.model == model)
    return dataclasses.replace(exp, config={**exp.config, **config})


def test_gpt_matches_its_nanogpt_twin(shared_data):
    exp = _exp("transformers", "GPT", steps=3, n_layer=1, n_embd=16, n_head=2,
               block_size=8, batch_size=2, eval_batches=2)
    ours = exp.trial(exp, "geodl", 0, exp.config, shared_data)
    theirs = exp.trial(exp, "torch", 0, exp.config, shared_data)
    assert ours.metrics["max_abs_diff"] < 1e-10  # float64 logits, same weights
    assert ours.metrics["val_loss"] == pytest.approx(theirs.metrics["val_loss"], abs=1e-3)
    assert ours.params == theirs.params and len(ours.history["train_loss"]) == 3


def test_bert_pretrained_and_scratch(shared_data):
    exp = _exp("transformers", "BERT", pretrain_steps=2, finetune_steps=2, n_layer=1,
               n_embd=16, n_head=2, batch_size=4)
    ours = exp.trial(exp, "geodl", 0, exp.config, shared_data)
    scratch = exp.trial(exp, "scratch", 0, exp.config, shared_data)
    assert 0 <= ours.metrics["test_acc"] <= 1 and "final_mlm_loss" in ours.metrics
    assert "final_mlm_loss" not in scratch.metrics and ours.params == scratch.params
    with pytest.raises(ValueError, match="impl='torch'"):
        transformers.bert_sentiment(exp, "torch", 0, exp.config, shared_data)


@pytest.mark.slow
def test_vit_and_its_cnn_baseline(shared_data):
    pytest.importorskip("geodl.datasets.images")
    exp = _exp("transformers", "ViT", epochs=1, train_size=128, n_layer=1, n_embd=16)
    for impl in ("geodl", "torch"):
        out = exp.trial(exp, impl, 0, exp.config, shared_data)
        assert 0 <= out.metrics["test_acc"] <= 1 and len(out.history["train_loss"]) == 1


@pytest.mark.slow
def test_link_prediction_matches_pyg(shared_data):
    exp = _exp("link", "GAE", epochs=3)
    ours = exp.trial(exp, "geodl", 0, exp.config, shared_data)
    theirs = exp.trial(exp, "pyg", 0, exp.config, shared_data)
    assert ours.metrics["test_auc"] == pytest.approx(theirs.metrics["test_auc"], abs=1e-3)
    assert {"test_ap", "cluster_acc", "nmi", "ari"} <= set(ours.metrics)
    with pytest.raises(ValueError, match="impl='torch'"):
        link.link_prediction(exp, "torch", 0, exp.config, shared_data)


@pytest.mark.slow
def test_generic_path_trains_like_the_fast_path():
    exp = _exp("quick", "CNN", fit={"epochs": 1, "lr": 3e-3})
    outs = {impl: tensors.fashion_cnn(exp, impl, 0, exp.config) for impl in exp.impls}
    assert exp.impls == ("geodl", "torch", "generic")
    assert outs["generic"].metrics["test_acc"] == pytest.approx(
        outs["geodl"].metrics["test_acc"], abs=0.02)
    gru = _exp("quick", "GRU", train_size=200, fit={"epochs": 1, "lr": 1e-2})
    fast, slow = (tensors.mnist1d_gru(gru, impl, 0, gru.config) for impl in ("geodl", "generic"))
    assert fast.history["train_loss"][0] == pytest.approx(slow.history["train_loss"][0],
                                                          rel=1e-4)


def test_forecast_and_mnist1d_cnn():
    fc = _exp("sequence", "LSTM forecaster", epochs=3)
    ours, naive = (tensors.forecast(fc, impl, 0, fc.config) for impl in ("geodl", "naive"))
    assert ours.metrics["test_rmse"] > 0 and naive.params == 0
    cnn = next(e for e in SUITES["vision"].experiments if e.dataset.startswith("MNIST-1D"))
    cnn = dataclasses.replace(cnn, config={**cnn.config, "fit": {"epochs": 1, "lr": 3e-3}})
    a, b = (tensors.mnist1d_cnn(cnn, impl, 0, cnn.config) for impl in ("geodl", "torch"))
    assert a.metrics["test_acc"] == pytest.approx(b.metrics["test_acc"], abs=0.03)

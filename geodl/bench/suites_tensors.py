"""The suites on tensors: ``vision`` (grid graphs), ``sequence`` (path graphs) and
``transformers`` (complete graphs), each row next to the same network written in torch or a
torch baseline; the "fast path = native op" rows name the kernel both sides call.
Registered when :mod:`geodl.bench.suites` is imported."""

from __future__ import annotations

from geodl.bench import tensors, transformers
from geodl.bench.suites import SAME_KERNEL, Experiment, Published, Suite, register

XIAO = "Xiao et al. 2017, best scikit-learn baseline (SVC)"
GREYDANUS = "Greydanus & Kobak 2020, GRU"
CNN_FASHION = {"channels": [32, 64], "hidden": 128, "dropout": 0.25, "batch_size": 128,
               "train_size": 60_000, "test_size": 10_000,
               "fit": {"epochs": 3, "lr": 3e-3, "restore_best": True}}
GRU_MNIST1D = {"hidden": 6, "batch_size": 100, "fit": {"epochs": 75, "lr": 1e-2,
                                                        "restore_best": True}}
CNN_MNIST1D = {"channels": [32, 64], "hidden": 128, "dropout": 0.1, "batch_size": 128,
               "fit": {"epochs": 20, "lr": 3e-3, "restore_best": True}}


def _fashion(train_size, test_size, **kw):
    name = "Fashion-MNIST" if train_size == 60_000 else f"Fashion-MNIST {train_size:,} train"
    return Experiment(name, "CNN", tensors.fashion_cnn,
                      {**CNN_FASHION, "train_size": train_size, "test_size": test_size},
                      impls=("geodl", "torch"), published=Published(89.7, XIAO),
                      quick={"fit": {"epochs": 1}}, load=tensors.load_images, **kw)


def digits_cnn_experiment(seeds: int, seconds: float) -> Experiment:
    """The quick suite's CNN: scikit-learn's 8 x 8 digits need no download or system package;
    the generic message-passing path (``fast=False``) trains beside the fast path and torch."""
    return Experiment("digits 8x8 (scikit-learn)", "CNN", tensors.fashion_cnn,
                      {**CNN_FASHION, "dataset": "digits", "train_size": 1437,
                       "test_size": 360, "fit": {"epochs": 15, "lr": 3e-3,
                                                 "restore_best": True}},
                      impls=("geodl", "torch", "generic"), seeds=seeds, seconds=seconds,
                      load=tensors.load_digits_images,
                      note=SAME_KERNEL + " (F.conv2d); generic = the same CNN with every "
                      "layer on its message-passing path, same weights and batches")


def mnist1d_gru_experiment(seeds, epochs, seconds, target=None):
    """The MNIST-1D GRU row (geodl's GRU, torch's nn.GRU, the generic path), ``epochs`` long;
    the tensors suite and the speed suite's shortened row both build it here."""
    return Experiment("MNIST-1D", "GRU", tensors.mnist1d_gru,
                      {**GRU_MNIST1D, "fit": {**GRU_MNIST1D["fit"], "epochs": epochs}},
                      impls=("geodl", "torch", "generic"), published=Published(91.0, GREYDANUS),
                      target=target, seeds=seeds, seconds=seconds,
                      quick={"fit": {"epochs": 15}},
                      note=SAME_KERNEL + " (the layer's own nn.GRU); generic = the GRU on "
                      "generic(path_graph) (message passing in topological order), same "
                      "weights and batches")


register(Suite("vision", "geodl's CNN (grid-graph convolutions) on Fashion-MNIST next to the "
               "same network written with nn.Conv2d; a CNN on MNIST-1D as a 1 x 40 grid", (
    _fashion(60_000, 10_000, target=91.0, seeds=2, seconds=540,
             note=SAME_KERNEL + " (F.conv2d)"),
    Experiment("MNIST-1D (1 x 40 grid)", "CNN", tensors.mnist1d_cnn, CNN_MNIST1D,
               impls=("geodl", "torch"), published=Published(94.0, "Greydanus & Kobak 2020, "
                                                                    "CNN"),
               target=90.0, seeds=2, seconds=60, quick={"fit": {"epochs": 5}},
               note=SAME_KERNEL + " (F.conv2d)"),
)))

register(Suite("sequence", "the MNIST-1D paper's bidirectional GRU on path graphs next to "
               "nn.GRU and to its own generic path, same weights and batches; an LSTM "
               "forecaster on statsmodels' sunspots against the naive last-value forecast", (
    mnist1d_gru_experiment(3, 75, 90, target=85.0),
    Experiment("sunspots (statsmodels)", "LSTM forecaster", tensors.forecast,
               {"series": "sunspots", "window": 24, "hidden": 32, "lr": 1e-2, "epochs": 400},
               impls=("geodl", "naive"), metric="test_rmse", scale=1.0, unit="",
               higher_is_better=False, target=1.0, target_relative=True, seeds=3,
               seconds=20, quick={"epochs": 100},
               note="target: RMSE below the naive last-value forecast's (ratio < 1)"),
)))

_TEXT = {"block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "batch_size": 12,
         "lr": 1e-3, "warmup": 100, "eval_batches": 50, "steps": 2000}
_BERT = {"max_len": 128, "n_layer": 4, "n_head": 4, "n_embd": 64, "pretrain_len": 64,
         "batch_size": 32, "lr": 1e-3, "ft_lr": 5e-4, "pretrain_steps": 2000,
         "finetune_steps": 600}
_VIT = {"patch_size": 4, "n_layer": 4, "n_head": 4, "n_embd": 64, "batch_size": 64,
        "lr": 1e-3, "epochs": 3, "train_size": 60_000}


def _text_data(root):
    from geodl.datasets.text import load_sentiment, load_tinyshakespeare

    return load_tinyshakespeare(root), load_sentiment(root)


register(Suite("transformers", "a character GPT on tinyshakespeare next to nanoGPT written in "
               "torch (same weights and batches), BERT pre-training then sentiment "
               "fine-tuning next to the same classifier from scratch, and a ViT on "
               "Fashion-MNIST next to a small CNN", (
    Experiment("tinyshakespeare (char)", "GPT", transformers.gpt_shakespeare, _TEXT,
               impls=("geodl", "torch"), metric="val_loss", scale=1.0, unit="",
               higher_is_better=False, published=Published(1.88, "nanoGPT README, CPU "
                                                                  "recipe, 2000 iters"),
               seeds=1, quick_seeds=1, seconds=240, quick={"steps": 200, "eval_batches": 20},
               quick_seconds=25,
               load=lambda root: _text_data(root)[0],
               note=SAME_KERNEL + " (SDPA); step_ms = median step time, max_abs_diff = "
               "logits against the twin in float64 before training"),
    Experiment("tinyshakespeare -> UCI sentiment", "BERT", transformers.bert_sentiment,
               _BERT, impls=("geodl", "scratch"), seeds=1, quick_seeds=1, seconds=200,
               quick={"pretrain_steps": 200, "finetune_steps": 100}, load=_text_data,
               quick_seconds=25,
               note="peer = the same classifier, same initial weights and fine-tuning "
               "batches, without pre-training"),
    Experiment("Fashion-MNIST", "ViT", transformers.vit_fashion, _VIT,
               impls=("geodl", "torch"), published=Published(89.7, XIAO), seeds=1,
               quick_seeds=1, seconds=400, quick={"epochs": 1, "train_size": 10_000},
               quick_seconds=45,
               load=tensors.load_images,
               note="peer = a small CNN written in torch (a baseline, not a twin)"),
)))



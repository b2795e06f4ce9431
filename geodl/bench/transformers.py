"""Trials of the ``transformers`` suite: GPT, BERT and ViT, each on a fixed number of steps.

- :func:`gpt_shakespeare`: character-level :class:`~geodl.models.transformer.GPT` (attention
  as message passing on the causal complete graph, SDPA fast path) against
  :class:`~geodl.bench.twins.NanoGPT`, nanoGPT's ``model.py`` written directly in torch, from
  the same initial weights, on nanoGPT's documented CPU recipe for shakespeare_char (4 layers,
  4 heads, 128 wide, block 64, batch 12, dropout 0, AdamW lr 1e-3, betas (0.9, 0.99), weight
  decay 0.1 on matrices, 100 warm-up steps; its README: val loss ~1.88 after 2000 steps). The
  same batches, steps alternating (so load bursts hit both); the metric is the loss on 50 fixed
  validation batches at the end, with the median step time (``step_ms``) and the logits'
  ``max_abs_diff`` at the start (float64). *Fast path = native op*: both sides call SDPA.
- :func:`bert_sentiment`: a character-level :class:`~geodl.models.transformer.BERT`
  pre-trained with the masked-language-model objective on tinyshakespeare
  (:func:`geodl.tasks.text.mask_tokens`: 15%, 80/10/10), then fine-tuned on the UCI sentiment
  sentences (stratified 80/20 split) against the same classifier from the same initial
  weights fine-tuned *without* pre-training (``impl="scratch"``): what pre-training buys.
- :func:`vit_fashion`: :class:`~geodl.models.transformer.ViT` (4 x 4 patches are the nodes of
  a 7 x 7 grid graph; with a class token they attend on a complete graph of 50 nodes) against a
  small CNN written in torch (``impl="torch"``: a baseline, not a twin), the same batches,
  AdamW with cosine decay, on Fashion-MNIST.

Steps, not CPU seconds, bound every run, so the numbers do not depend on the machine's speed.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from geodl.bench.experiments import Outcome, count_parameters
from geodl.bench.timing import CLOCK, OtherLoad, paired

__all__ = ["gpt_shakespeare", "bert_sentiment", "vit_fashion"]

SPECIALS = ("[PAD]", "[MASK]", "[CLS]", "[UNK]")
PAD, MASK, CLS, UNK = range(4)


def _adamw(model: nn.Module, lr: float, decay: float, betas=(0.9, 0.999)):
    """Weight decay on matrices only (nanoGPT's ``configure_optimizers``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2],
                               "weight_decay": decay},
                              {"params": [p for p in params if p.dim() < 2],
                               "weight_decay": 0.0}], lr=lr, betas=betas)


@paired
def gpt_shakespeare(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """geodl's GPT and its nanoGPT twin, ``config["steps"]`` steps each, interleaved."""
    from geodl.bench.twins import nanogpt_twin
    from geodl.datasets.text import load_tinyshakespeare
    from geodl.models.transformer import GPT, GPTConfig
    from geodl.tasks.text import sample_blocks

    corpus = load_tinyshakespeare(root)
    cfg = GPTConfig(vocab_size=len(corpus.vocab), block_size=config["block_size"],
                    n_layer=config["n_layer"], n_head=config["n_head"],
                    n_embd=config["n_embd"], dropout=0.0)
    torch.manual_seed(seed)
    models = {"geodl": GPT(cfg)}
    models["torch"] = nanogpt_twin(models["geodl"])
    x0, _ = sample_blocks(corpus.val, cfg.block_size, 4, generator=torch.Generator()
                          .manual_seed(seed))
    with torch.no_grad():  # the same function: logits equal in float64
        diff = (models["geodl"].double().eval()(x0) - nanogpt_twin(models["geodl"]).eval()(x0)
                ).abs().max().item()
        models["geodl"].float()
    opts = {k: _adamw(m, config["lr"], 0.1, (0.9, 0.99)) for k, m in models.items()}
    gen = torch.Generator().manual_seed(seed)
    times = {k: [] for k in models}
    losses = {k: [] for k in models}
    load = OtherLoad()
    for step in range(int(config["steps"])):
        x, y = sample_blocks(corpus.train, cfg.block_size, config["batch_size"], generator=gen)
        lr = config["lr"] * min(1.0, (step + 1) / config["warmup"])
        for key, model in models.items():  # alternate, so load bursts hit both
            for group in opts[key].param_groups:
                group["lr"] = lr
            start = CLOCK()
            model.train()
            logits = model(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
            opts[key].zero_grad(set_to_none=True)
            loss.backward()
            opts[key].step()
            times[key].append(CLOCK() - start)
            losses[key].append(loss.item())
    cores = load.cores()
    eval_gen = torch.Generator().manual_seed(seed + 1)
    val = [sample_blocks(corpus.val, cfg.block_size, config["batch_size"], generator=eval_gen)
           for _ in range(int(config["eval_batches"]))]
    out = {}
    for key, model in models.items():
        model.eval()
        with torch.no_grad():
            val_loss = statistics.fmean(F.cross_entropy(model(x).flatten(0, 1), y.flatten())
                                        .item() for x, y in val)
        skip = min(5, len(times[key]) // 2)  # warm-up steps out of the median
        metrics = {"val_loss": val_loss, "step_ms": 1e3 * statistics.median(times[key][skip:]),
                   "steps": float(config["steps"])}
        if cores is not None:
            metrics["busy_cores"] = cores
        if key == "geodl":
            metrics["max_abs_diff"] = diff
        every = max(1, len(losses[key]) // 100)  # a curve of ~100 points, in steps
        out[key] = Outcome(metrics, params=count_parameters(model), train_time=sum(times[key]),
                           history={"train_loss": losses[key][::every]})
    return out


def bert_sentiment(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """BERT MLM pre-training (``impl="geodl"``; none for ``"scratch"``) and sentiment
    fine-tuning, ``config["pretrain_steps"]`` and ``config["finetune_steps"]`` steps."""
    from geodl.datasets.text import CharVocab, load_sentiment, load_tinyshakespeare
    from geodl.models.transformer import BERT, BertConfig
    from geodl.tasks.text import mask_tokens, pad_sequences, sample_blocks

    if impl not in ("geodl", "scratch"):
        raise ValueError(f"impl={impl!r}; choose 'geodl' (pre-trained) or 'scratch'.")
    corpus = load_tinyshakespeare(root)
    vocab = CharVocab(corpus.vocab.chars, SPECIALS, unk="[UNK]")
    train_text = corpus.train + len(SPECIALS)
    cfg = BertConfig(vocab_size=len(vocab), max_len=config["max_len"], n_layer=config["n_layer"],
                     n_head=config["n_head"], n_embd=config["n_embd"], dropout=0.1,
                     num_classes=2, pad_id=PAD)
    torch.manual_seed(seed)
    model = BERT(cfg)
    gen = torch.Generator().manual_seed(seed)
    losses, start = [], time.process_time()
    if impl == "geodl":
        opt = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=0.01)
        model.train()
        for step in range(int(config["pretrain_steps"])):
            x, _ = sample_blocks(train_text, config["pretrain_len"] - 1, config["batch_size"],
                                 generator=gen)
            tokens = torch.cat([torch.full((x.size(0), 1), CLS), x], 1)  # (B, 1 + T)
            inputs, labels = mask_tokens(tokens, MASK, len(vocab), special_ids=[PAD, CLS, UNK],
                                         generator=gen)
            for group in opt.param_groups:
                group["lr"] = config["lr"] * min(1.0, (step + 1) / 100)
            logits = model.mlm_logits(model(inputs))  # (B, T, V)
            loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    data = load_sentiment(root)
    seqs = [torch.cat([torch.tensor([CLS]), vocab.encode(s[: cfg.max_len - 1])])
            for s in data.sentences]
    split = torch.Generator().manual_seed(0)  # the same split for every seed and impl
    train_idx, test_idx = [], []
    for c in data.labels.unique():
        idx = (data.labels == c).nonzero().flatten()
        idx = idx[torch.randperm(idx.numel(), generator=split)]
        k = round(0.2 * idx.numel())
        test_idx.append(idx[:k])
        train_idx.append(idx[k:])
    train_idx, test_idx = torch.cat(train_idx), torch.cat(test_idx)
    opt = torch.optim.AdamW(model.parameters(), lr=config["ft_lr"], weight_decay=0.01)
    ft_gen = torch.Generator().manual_seed(seed + 2)  # the same batches with or without
    model.train()
    for _ in range(int(config["finetune_steps"])):
        batch = train_idx[torch.randint(0, train_idx.numel(), (config["batch_size"],),
                                        generator=ft_gen)]
        x, pad = pad_sequences([seqs[i] for i in batch], PAD)
        loss = F.cross_entropy(model.classify(model(x, pad)), data.labels[batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    hits = 0
    with torch.no_grad():
        for batch in test_idx.split(100):
            x, pad = pad_sequences([seqs[i] for i in batch], PAD)
            hits += int((model.classify(model(x, pad)).argmax(-1) == data.labels[batch]).sum())
    metrics = {"test_acc": hits / test_idx.numel()}
    if losses:
        metrics["final_mlm_loss"] = statistics.fmean(losses[-20:])
    return Outcome(metrics, params=count_parameters(model),
                   train_time=time.process_time() - start)


def vit_fashion(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """ViT (``impl="geodl"``) or a small torch CNN (``"torch"``) on Fashion-MNIST,
    ``config["epochs"]`` epochs of ``config["train_size"]`` images, cosine learning rate."""
    from geodl.bench.tensors import load_images
    from geodl.models.transformer import ViT, ViTConfig

    x, y, xt, yt = load_images(root)
    x, y = x[:config["train_size"]], y[:config["train_size"]]
    torch.manual_seed(seed)
    if impl == "geodl":
        model = ViT(ViTConfig(image_size=28, patch_size=config["patch_size"], in_channels=1,
                              num_classes=10, n_layer=config["n_layer"],
                              n_head=config["n_head"], n_embd=config["n_embd"],
                              mlp_ratio=2.0, dropout=0.0))
    elif impl == "torch":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        raise ValueError(f"impl={impl!r}; choose 'geodl' (ViT) or 'torch' (CNN).")
    bs = int(config["batch_size"])
    total = int(config["epochs"]) * math.ceil(len(x) / bs)
    opt = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=0.05)
    gen = torch.Generator().manual_seed(seed)
    step, losses, start = 0, [], time.process_time()
    model.train()
    for _ in range(int(config["epochs"])):
        epoch_loss = []
        for batch in torch.randperm(len(x), generator=gen).split(bs):
            warm = min(1.0, (step + 1) / 100)
            for group in opt.param_groups:
                group["lr"] = config["lr"] * warm * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_loss.append(loss.item())
            step += 1
        losses.append(statistics.fmean(epoch_loss))
    model.eval()
    with torch.no_grad():
        hits = sum(int((model(xb).argmax(-1) == yb).sum())
                   for xb, yb in zip(xt.split(500), yt.split(500)))
    return Outcome({"test_acc": hits / len(yt), "epochs": float(config["epochs"])},
                   params=count_parameters(model), train_time=time.process_time() - start,
                   history={"train_loss": losses})

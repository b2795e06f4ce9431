"""BERT-style masked-language-model pre-training on tinyshakespeare, then sentiment fine-tuning.

What it measures:

- **Pre-training.** A small character-level :class:`~geodl.models.transformer.BERT` (4 layers,
  4 heads, 64 wide, sequences of 64 = ``[CLS]`` + 63 characters, batch 32) trained with
  BERT's masked-language-model objective (:func:`geodl.tasks.text.mask_tokens`: 15% of the
  characters chosen, 80% ``[MASK]`` / 10% random / 10% kept) for a fixed CPU budget.
  Reported: steps, masked-token loss and accuracy on 20 fixed validation batches.
- **Fine-tuning.** The classification head (``[CLS]`` -> tanh pooler -> linear) on the UCI
  sentiment sentences (3000, balanced; stratified 80/20 train/test split, fixed seed;
  characters outside Shakespeare's alphabet -> ``[UNK]``; sentences truncated to 127
  characters; batches of similar lengths). The pre-trained model and the same architecture
  from scratch (no pre-training; the same initial weights) are fine-tuned (AdamW, lr 5e-4) on
  the same batches for the same CPU budget each, steps alternating. Reported: test accuracy
  of both (the gain is what pre-training buys).

Run from the repository root::

    .venv/bin/python benchmarks/bert.py           # 150 CPU s pre-training + 2 x 75 s (~6 min idle)
    .venv/bin/python benchmarks/bert.py --quick   # 20 s + 2 x 10 s
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import (  # benchmarks/ is on sys.path when a script runs
    OtherLoad,
    log,
    machine_info,
    machine_line,
)

from geodl.datasets.text import CharVocab, load_sentiment, load_tinyshakespeare
from geodl.models.transformer import BERT, BertConfig
from geodl.tasks.text import mask_tokens, pad_sequences, sample_blocks

SEED = 0
SPECIALS = ("[PAD]", "[MASK]", "[CLS]", "[UNK]")
PAD, MASK, CLS, UNK = range(4)
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def with_cls(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.full((x.size(0), 1), CLS), x], 1)  # (B, 1 + T)


def mlm_batch(data, args, gen):
    x, _ = sample_blocks(data, args.pretrain_len - 1, args.batch_size, generator=gen)
    tokens = with_cls(x)  # (B, pretrain_len)
    return mask_tokens(tokens, MASK, args.vocab_size, special_ids=[PAD, CLS, UNK],
                       generator=gen)


def mlm_loss(model, inputs, labels):
    logits = model.mlm_logits(model(inputs))  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100), logits


def pretrain(model, corpus, args) -> dict:
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(SEED)
    spent, steps, times = 0.0, 0, []
    while spent < args.pretrain_budget:
        inputs, labels = mlm_batch(corpus.train, args, gen)
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, (steps + 1) / 100)
        start = time.process_time()
        model.train()
        loss, _ = mlm_loss(model, inputs, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.process_time() - start)
        spent += times[-1]
        steps += 1
        if steps % 100 == 0:
            log(f"[bert] MLM step {steps}: loss {loss.item():.3f} ({spent:.0f} s)")
    model.eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    losses, hits, total = [], 0, 0
    with torch.no_grad():
        for _ in range(20):
            inputs, labels = mlm_batch(corpus.val, args, gen)
            loss, logits = mlm_loss(model, inputs, labels)
            chosen = labels != -100
            losses.append(loss.item())
            hits += int((logits.argmax(-1)[chosen] == labels[chosen]).sum())
            total += int(chosen.sum())
    return {"steps": steps, "cpu_s": spent, "step_ms": 1e3 * statistics.median(times),
            "val_mlm_loss": statistics.fmean(losses), "val_mlm_acc": hits / total}


def encode_sentences(sentences, vocab: CharVocab, max_len: int):
    return [torch.cat([torch.tensor([CLS]), vocab.encode(s[: max_len - 1])]) for s in sentences]


def stratified_split(labels: torch.Tensor, test_fraction: float, seed: int):
    gen = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in labels.unique():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        k = round(test_fraction * idx.numel())
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train), torch.cat(test)


def length_batches(idx, seqs, batch_size: int, gen) -> list:
    """Shuffled batches of sentences of similar length (sorted within chunks of 20 batches),
    so padding costs little."""
    idx = idx[torch.randperm(idx.numel(), generator=gen)]
    batches = []
    for chunk in idx.split(20 * batch_size):
        lengths = torch.tensor([seqs[i].numel() for i in chunk])
        batches += list(chunk[torch.argsort(lengths, stable=True)].split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=gen)]


def finetune(models: dict, seqs, labels, train_idx, test_idx, args) -> dict:
    opts = {k: torch.optim.AdamW(m.parameters(), lr=args.ft_lr, weight_decay=0.01)
            for k, m in models.items()}
    spent = {k: 0.0 for k in models}
    steps = {k: 0 for k in models}
    gen = torch.Generator().manual_seed(SEED + 2)
    epoch = 0
    while any(s < args.finetune_budget for s in spent.values()):
        for batch in length_batches(train_idx, seqs, args.batch_size, gen):
            x, pad = pad_sequences([seqs[i] for i in batch], PAD)
            y = labels[batch]
            for key, model in models.items():  # alternate, so load bursts hit both
                if spent[key] >= args.finetune_budget:
                    continue
                start = time.process_time()
                model.train()
                loss = F.cross_entropy(model.classify(model(x, pad)), y)
                opts[key].zero_grad(set_to_none=True)
                loss.backward()
                opts[key].step()
                spent[key] += time.process_time() - start
                steps[key] += 1
        epoch += 1
        log(f"[bert] fine-tuning epoch {epoch}: steps {steps}")

    def acc(model, idx):
        model.eval()
        hits = 0
        with torch.no_grad():
            for batch in length_batches(idx, seqs, 100, torch.Generator()):
                x, pad = pad_sequences([seqs[i] for i in batch], PAD)
                hits += int((model.classify(model(x, pad)).argmax(-1) == labels[batch]).sum())
        return hits / idx.numel()

    return {k: {"steps": steps[k], "cpu_s": spent[k], "train_acc": acc(m, train_idx),
                "test_acc": acc(m, test_idx)} for k, m in models.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 s + 2 x 10 s budgets")
    parser.add_argument("--pretrain-budget", type=float, default=150.0, help="CPU s")
    parser.add_argument("--finetune-budget", type=float, default=75.0, help="CPU s each")
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=128, help="longest sentence ([CLS] "
                        "included; longer ones are truncated)")
    parser.add_argument("--pretrain-len", type=int, default=64,
                        help="length of the pre-training sequences ([CLS] + characters)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="pre-training learning rate")
    parser.add_argument("--ft-lr", type=float, default=5e-4, help="fine-tuning learning rate")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.pretrain_budget, args.finetune_budget = 20.0, 10.0
    torch.set_num_threads(args.threads)
    start, others = time.perf_counter(), OtherLoad()
    print(f"# BERT-style MLM on tinyshakespeare -> sentiment classification\n\n"
          f"{machine_line(machine_info())}\n", flush=True)
    corpus = load_tinyshakespeare(args.data)
    vocab = CharVocab(corpus.vocab.chars, SPECIALS, unk="[UNK]")
    corpus.train, corpus.val = corpus.train + len(SPECIALS), corpus.val + len(SPECIALS)
    args.vocab_size = len(vocab)
    config = BertConfig(vocab_size=len(vocab), max_len=args.max_len, n_layer=args.n_layer,
                        n_head=args.n_head, n_embd=args.n_embd, dropout=0.1, num_classes=2,
                        pad_id=PAD)
    torch.manual_seed(SEED)
    pretrained = BERT(config)
    scratch = BERT(config)
    scratch.load_state_dict(pretrained.state_dict())  # the same initial weights
    log(f"[bert] pre-training {args.pretrain_budget:.0f} CPU s ...")
    pre = pretrain(pretrained, corpus, args)

    data = load_sentiment(args.data)
    seqs = encode_sentences(data.sentences, vocab, args.max_len)
    unknown = sum(int((s == UNK).sum()) for s in seqs) / sum(s.numel() for s in seqs)
    train_idx, test_idx = stratified_split(data.labels, 0.2, SEED)
    log(f"[bert] fine-tuning {args.finetune_budget:.0f} CPU s each ...")
    ft = finetune({"pre-trained": pretrained, "from scratch": scratch}, seqs, data.labels,
                  train_idx, test_idx, args)
    total, busy = time.perf_counter() - start, others.cores()
    params = sum(p.numel() for p in pretrained.parameters())
    print(f"model: {config} ({params / 1e6:.2f}M parameters); batch {args.batch_size}\n")
    print(f"MLM pre-training: {pre['steps']} steps in {pre['cpu_s']:.0f} CPU s (median step "
          f"{pre['step_ms']:.0f} ms); validation masked-token loss {pre['val_mlm_loss']:.3f}, "
          f"accuracy {pre['val_mlm_acc']:.3f} (chance ~ 1/{len(vocab)})\n")
    print(f"Sentiment: {train_idx.numel()} train / {test_idx.numel()} test sentences "
          f"(balanced; {100 * unknown:.2f}% of characters [UNK])\n")
    print("| model | fine-tuning steps | CPU s | train acc | test acc |\n|---|---|---|---|---|")
    for key, r in ft.items():
        print(f"| {key} | {r['steps']} | {r['cpu_s']:.0f} | {r['train_acc']:.3f} "
              f"| {r['test_acc']:.3f} |")
    gain = ft["pre-trained"]["test_acc"] - ft["from scratch"]["test_acc"]
    print(f"\npre-training gain: {100 * gain:+.1f} points of test accuracy. Total "
          f"{total:.0f} s; other processes kept {'-' if busy is None else f'{busy:.1f}'} "
          f"cores busy on average.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": vars(config), "pretrain": pre, "finetune": ft,
                       "total_s": total, "busy_cores": busy}, f, indent=2)


if __name__ == "__main__":
    main()

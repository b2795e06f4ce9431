"""Character-level GPT on tinyshakespeare: geodl's GPT against the same model in plain torch.

What it measures:

- **Equality.** geodl's :class:`~geodl.models.transformer.GPT` (attention as message passing on
  the causal complete graph, SDPA fast path) and ``NanoGPT`` below, nanoGPT's ``model.py``
  written directly in torch (``c_attn``/``c_proj`` + SDPA with ``is_causal=True``, GELU MLP,
  pre-norm, tied embedding). The torch model gets geodl's initial weights (same seed); the
  logits on one batch are compared in float32 and float64 (max |diff|).
- **Training for a fixed CPU budget.** nanoGPT's documented CPU recipe for shakespeare_char
  (4 layers, 4 heads, 128 wide, block 64, batch 12, dropout 0, AdamW lr 1e-3, betas
  (0.9, 0.99), weight decay 0.1 on matrices, 100 warm-up steps; README: val loss ~1.88 after
  2000 steps). Both models see the same batches in the same order; their steps alternate
  (geodl, torch, geodl, ...), so bursts of machine load hit both, and each trains until its
  own steps have used the budget (process CPU seconds, one torch thread). Reported: steps
  done, median step time (wall and CPU), the ratio geodl / torch (target <= 1.1), and the
  loss on 50 fixed validation batches (and 50 training batches) at the end.

Run from the repository root::

    .venv/bin/python benchmarks/gpt_shakespeare.py            # 240 s budget each (~9 min)
    .venv/bin/python benchmarks/gpt_shakespeare.py --quick    # 20 s each (< 1 min)
"""

from __future__ import annotations

import argparse
import json
import math
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
from torch import nn

from geodl.datasets.text import load_tinyshakespeare
from geodl.models.transformer import GPT, GPTConfig
from geodl.tasks.text import sample_blocks

SEED = 1337
TARGET = 1.1
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# -- nanoGPT's model.py, written directly in torch --------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.resid_dropout = nn.Dropout(c.dropout)
        self.n_head, self.n_embd, self.dropout = c.n_head, c.n_embd, c.dropout

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training
                                           else 0.0, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.config = c
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.n_embd),
            wpe=nn.Embedding(c.block_size, c.n_embd),
            drop=nn.Dropout(c.dropout),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]),
            ln_f=nn.LayerNorm(c.n_embd, bias=c.bias),
        ))
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying

    def forward(self, idx):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))  # (B, T, V)


def nanogpt_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """geodl GPT weights under nanoGPT's parameter names."""
    sd = model.state_dict()
    out = {"transformer.wte.weight": sd["wte.weight"], "transformer.wpe.weight": sd["wpe.weight"],
           "lm_head.weight": sd["wte.weight"]}
    names = {"norm1": "ln_1", "self_attn.in_proj_weight": "attn.c_attn.weight",
             "self_attn.in_proj_bias": "attn.c_attn.bias",
             "self_attn.out_proj": "attn.c_proj", "norm2": "ln_2", "linear1": "mlp.c_fc",
             "linear2": "mlp.c_proj"}
    for key, value in sd.items():
        if key.startswith("encoder.layers."):
            _, _, i, rest = key.split(".", 3)
            for ours, theirs in names.items():
                if rest.startswith(ours):
                    out[f"transformer.h.{i}.{theirs}{rest[len(ours):]}"] = value
        elif key.startswith("encoder.norm."):
            out["transformer.ln_f." + key.rsplit(".", 1)[1]] = value
    return out


def twin(model: GPT) -> NanoGPT:
    """The torch model with ``model``'s weights (every parameter copied: strict load)."""
    ref = NanoGPT(model.config).to(next(model.parameters()).dtype)
    ref.load_state_dict(nanogpt_state_dict(model), strict=True)
    return ref


# -- training -----------------------------------------------------------------------------------
def optimizer(model: nn.Module, lr: float) -> torch.optim.AdamW:
    """nanoGPT's ``configure_optimizers``: weight decay 0.1 on matrices, none on vectors."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99))


def make_step(model: nn.Module, opt: torch.optim.Optimizer):
    def step(x, y, lr):
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()
    return step


@torch.no_grad()
def evaluate(model: nn.Module, batches) -> float:
    model.eval()
    return statistics.fmean(F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item()
                            for x, y in batches)


def train_pair(corpus, config: GPTConfig, args) -> dict:
    torch.manual_seed(SEED)
    ours = GPT(config)
    theirs = twin(ours)
    steps = {"geodl": make_step(ours, optimizer(ours, args.lr)),
             "torch": make_step(theirs, optimizer(theirs, args.lr))}
    gen = torch.Generator().manual_seed(SEED)
    wall = {k: [] for k in steps}
    cpu = {k: [] for k in steps}
    losses = {k: math.nan for k in steps}
    done = {k: 0 for k in steps}
    it = 0
    while any(sum(cpu[k]) < args.budget for k in steps):
        x, y = sample_blocks(corpus.train, config.block_size, args.batch_size, generator=gen)
        lr = args.lr * min(1.0, (it + 1) / args.warmup)
        for key, step in steps.items():  # alternate, so load bursts hit both
            if sum(cpu[key]) >= args.budget:
                continue
            w, c = time.perf_counter(), time.process_time()
            losses[key] = step(x, y, lr)
            cpu[key].append(time.process_time() - c)
            wall[key].append(time.perf_counter() - w)
            done[key] += 1
        it += 1
        if it % 200 == 0:
            log(f"[gpt] step {it}: train loss geodl {losses['geodl']:.3f} torch "
                f"{losses['torch']:.3f}")
    eval_gen = torch.Generator().manual_seed(SEED + 1)
    val = [sample_blocks(corpus.val, config.block_size, args.batch_size, generator=eval_gen)
           for _ in range(args.eval_batches)]
    train = [sample_blocks(corpus.train, config.block_size, args.batch_size, generator=eval_gen)
             for _ in range(args.eval_batches)]
    skip = min(5, it // 2)  # warm-up steps out of the medians
    row = {}
    for key, model in (("geodl", ours), ("torch", theirs)):
        row[key] = {"steps": done[key], "wall_ms": 1e3 * statistics.median(wall[key][skip:]),
                    "cpu_ms": 1e3 * statistics.median(cpu[key][skip:]),
                    "cpu_s": sum(cpu[key]), "val_loss": evaluate(model, val),
                    "train_loss": evaluate(model, train)}
    row["ratio_wall"] = row["geodl"]["wall_ms"] / row["torch"]["wall_ms"]
    row["ratio_cpu"] = row["geodl"]["cpu_ms"] / row["torch"]["cpu_ms"]
    prompt = torch.zeros(1, 1, dtype=torch.long)  # "\n"
    sample = ours.generate(prompt, 200, generator=torch.Generator().manual_seed(SEED))
    row["sample"] = corpus.vocab.decode(sample[0])
    return row


def equality(corpus, config: GPTConfig) -> dict[str, float]:
    """max |logits_geodl - logits_torch| with the same weights, float32 and float64."""
    torch.manual_seed(SEED)
    ours = GPT(config).eval()
    x, _ = sample_blocks(corpus.val, config.block_size, 4,
                         generator=torch.Generator().manual_seed(0))
    out = {}
    for dtype in (torch.float32, torch.float64):
        model = ours.to(dtype)
        ref = twin(model).eval()
        with torch.no_grad():
            out[str(dtype).split(".")[1]] = (model(x) - ref(x)).abs().max().item()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 s budget each (< 1 min)")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="CPU seconds of training for each model (default 240)")
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--eval-batches", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding tinyshakespeare/")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.eval_batches = 20.0, 20
    torch.set_num_threads(args.threads)
    start, others = time.perf_counter(), OtherLoad()
    print(f"# char GPT on tinyshakespeare: geodl vs nanoGPT-style torch\n\n"
          f"{machine_line(machine_info())}\n", flush=True)
    corpus = load_tinyshakespeare(args.data)
    config = GPTConfig(block_size=args.block_size, vocab_size=len(corpus.vocab),
                       n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                       dropout=0.0, bias=True)
    diffs = equality(corpus, config)
    log(f"[gpt] max |logits diff|: {diffs}; training {args.budget:.0f} CPU s each ...")
    r = train_pair(corpus, config, args)
    total, busy = time.perf_counter() - start, others.cores()
    params = sum(p.numel() for p in GPT(config).parameters())
    print(f"model: {config} ({params / 1e6:.2f}M parameters); batch {args.batch_size}\n")
    print(f"max |logits geodl - torch|, same weights: float32 {diffs['float32']:.1e}, "
          f"float64 {diffs['float64']:.1e}\n")
    print("| model | steps in budget | median step wall (ms) | median step CPU (ms) "
          "| val loss | train loss |\n|---|---|---|---|---|---|")
    for key in ("geodl", "torch"):
        m = r[key]
        print(f"| {key} | {m['steps']} | {m['wall_ms']:.1f} | {m['cpu_ms']:.1f} "
              f"| {m['val_loss']:.4f} | {m['train_loss']:.4f} |")
    ok = r["ratio_wall"] <= TARGET
    print(f"\nstep time geodl / torch: wall {r['ratio_wall']:.3f}, CPU {r['ratio_cpu']:.3f} "
          f"(target <= {TARGET}: {'met' if ok else '**MISSED**'}). Budget {args.budget:.0f} "
          f"CPU s each; total {total:.0f} s; other processes kept "
          f"{'-' if busy is None else f'{busy:.1f}'} cores busy on average.")
    print(f"\ngeodl sample (200 chars):\n```\n{r['sample']}\n```")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": vars(config), "diffs": diffs, "result": r, "total_s": total,
                       "busy_cores": busy}, f, indent=2)


if __name__ == "__main__":
    main()

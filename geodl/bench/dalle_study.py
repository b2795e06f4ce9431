"""The mini DALL-E study ("does it understand colours and objects, but not space?") in three
phases on real Fashion-MNIST items, one function: :func:`run_study`.

1. **Tokenizers**: a VQ-VAE (the transformer's tokenizer) and a dVAE, trained on the seen
   captioned canvases; reconstruction MSE / PSNR and codebook usage (perplexity) on held-out
   images.
2. **CLIP and the transformer**: CLIP on (canvas, caption) pairs; the DALL-E GPT on
   (caption, VQ-VAE tokens). Neither sees a held-out (class, colour) pair.
3. **Generate and judge**: for every caption type (class / colour / relation) on seen and
   held-out combinations, ``candidates`` samples per caption; without re-ranking the first
   sample is judged, with re-ranking CLIP's pick. Judges: a CNN per half (class incl. "empty",
   colour incl. grey) trained on real canvases of every combination, never on generated ones.

Scores per caption: ``class`` = every named object is in the image; ``colour`` = every named
object found has its colour; ``space`` (relations) = the two objects, both found in different
halves, are in the captioned order (which object is left). ``real`` rows judge the real images
of the same captions (the judges' ceiling), ``tokenized`` rows their VQ-VAE reconstructions (the
tokenizer's ceiling). Also CLIP's zero-shot accuracy on the Fashion-MNIST
test set (a grey item on the left half, prompts "a <class>") and the CLIP score.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch import Tensor

from geodl.datasets.captions import KINDS, load_caption_source, make_captioned_images
from geodl.models import CLIP, CNN, DALLE, DVAE, VQVAE, CLIPConfig, CNNConfig, DALLEConfig, rerank
from geodl.tasks import (
    AttributeTask,
    ContrastiveTask,
    TextToImageTask,
    TokenizerTask,
    fit,
)

__all__ = ["run_study", "judge", "halves", "study_table"]


def halves(images: Tensor) -> Tensor:
    """``(N, C, 28, 56)`` canvases -> ``(2N, C, 28, 28)``: the left halves, then the right."""
    w = images.size(-1) // 2
    return torch.cat([images[..., :w], images[..., w:]])


def judge(model: CNN, task: AttributeTask, images: Tensor, attrs: Tensor, kind: Tensor
          ) -> dict[str, Tensor]:
    """Per-image booleans ``class``, ``colour``, ``space`` (NaN where a score does not apply)
    from the half classifier's predictions against the captioned attributes ``(N, 4)``."""
    n = len(images)
    pred = task.predict(model, halves(images))  # (2N, 2): class + 1, colour
    got = torch.stack([pred[:n, 0] - 1, pred[:n, 1], pred[n:, 0] - 1, pred[n:, 1]], 1)
    want_l, want_r = attrs[:, 0:2], attrs[:, 2:4]
    two = attrs[:, 2] >= 0
    found_l = (got[:, 0] == want_l[:, 0]) | (got[:, 2] == want_l[:, 0])
    found_r = ~two | (got[:, 0] == want_r[:, 0]) | (got[:, 2] == want_r[:, 0])

    def colour_of(cls):  # the colour seen on the half showing cls (left first)
        return torch.where(got[:, 0] == cls, got[:, 1], got[:, 3])

    col_l = found_l & (colour_of(want_l[:, 0]) == want_l[:, 1])
    col_r = ~two | (found_r & (colour_of(want_r[:, 0]) == want_r[:, 1]))
    nan = torch.full((n,), float("nan"))
    has_colour = (attrs[:, 1] > 0) | two  # class captions name no colour
    colour = torch.where(has_colour & found_l & found_r, (col_l & col_r).float(), nan)
    both = two & (got[:, 0] >= 0) & (got[:, 2] >= 0) & (got[:, 0] != got[:, 2]) & found_l \
        & found_r
    space = torch.where(both, ((got[:, 0] == want_l[:, 0]) & (got[:, 2] == want_r[:, 0]))
                        .float(), nan)
    return {"class": (found_l & found_r).float(), "colour": colour, "space": space}


def _mean(x: Tensor) -> float:
    x = x[~torch.isnan(x)]
    return float(x.mean()) if len(x) else float("nan")


def _fit(model, task, seed, epochs, lr, **kw):
    return fit(model, task, epochs=epochs, lr=lr, seed=seed, progress=False, **kw)


def _subset(data, idx):
    from dataclasses import replace

    return replace(data, images=data.images[idx], captions=[data.captions[i] for i in idx],
                   tokens=data.tokens[idx], kind=data.kind[idx], attrs=data.attrs[idx])


def run_study(config: dict, seed: int = 0, root=None, out: str | Path | None = None
              ) -> dict[str, float]:
    """Train the three phases, generate, judge; write PNGs and ``study.md`` to ``out``."""
    c = config
    torch.manual_seed(seed)
    clock = {"start": time.perf_counter()}

    def lap(name: str) -> None:  # seconds of each phase, stored with the metrics
        now = time.perf_counter()
        metrics[f"seconds_{name}"] = now - clock["start"]
        clock["start"] = now
    items, labels, words = load_caption_source(c.get("source", "fashion"), "train", root)
    test_items, test_labels, _ = load_caption_source(c.get("source", "fashion"), "test", root)
    opts = dict(classes=words, colours=tuple(c["colours"]), use_classes=tuple(c["classes"]),
                context=c["text_len"])
    seen = make_captioned_images(items, labels, c["train"] + c["val"], seed=seed, **opts)
    train, val = _subset(seen, range(c["train"])), _subset(seen, range(c["train"], len(seen)))
    judge_set = make_captioned_images(items, labels, c["judge_train"], held_out=set(),
                                      seed=seed + 1, **opts)
    metrics: dict[str, float] = {}
    lap("data")

    # phase 1: tokenizers
    tok_opts = dict(num_codes=c["num_codes"], code_dim=c["code_dim"], hidden=c["hidden"])
    vq = VQVAE(ema=c.get("ema", True), dead_threshold=c.get("dead_threshold", 0.03), **tok_opts)
    vq_task = TokenizerTask(train.images, val_images=val.images, batch_size=128)
    _fit(vq, vq_task, seed, c["tok_epochs"], 2e-3)
    dvae = DVAE(**tok_opts)
    dv_task = TokenizerTask(train.images, val_images=val.images, batch_size=128,
                            kl_weight=c.get("kl_weight", 1e-3),
                            tau_steps=c["tok_epochs"] * (c["train"] // 128))
    _fit(dvae, dv_task, seed, c["tok_epochs"], 2e-3)
    for name, model, task in (("vqvae", vq, vq_task), ("dvae", dvae, dv_task)):
        model.eval()
        for key, value in task.evaluate(model, "val").items():
            if key != "loss":
                metrics[f"{name}_{key}"] = value
    lap("tokenizers")

    # judges: per half (class + empty, colour + grey), on real canvases of every combination
    judge_cnn = CNN(CNNConfig(in_channels=3, num_classes=len(words) + 1 + len(c["colours"]) + 1,
                              channels=(32, 64), image_size=(28, 28), hidden=64))
    n_j = len(judge_set)
    half_labels = torch.cat([judge_set.attrs[:, 0:2], judge_set.attrs[:, 2:4]]) + \
        torch.tensor([1, 0])  # class + 1 (0 = empty), colour
    cut = int(0.9 * 2 * n_j)
    perm = torch.randperm(2 * n_j, generator=torch.Generator().manual_seed(seed))
    jx, jy = halves(judge_set.images)[perm], half_labels[perm]
    judge_task = AttributeTask(jx[:cut], jy[:cut], (len(words) + 1, len(c["colours"]) + 1),
                               val_images=jx[cut:], val_labels=jy[cut:])
    _fit(judge_cnn, judge_task, seed, c["judge_epochs"], 2e-3)
    judge_cnn.eval()
    metrics["judge_half_acc"] = judge_task.evaluate(judge_cnn, "val")["acc"]
    lap("judges")

    # phase 2: CLIP and the transformer
    clip = CLIP(CLIPConfig(vocab_size=len(seen.vocab), context=c["text_len"], **c["clip"]))
    _fit(clip, ContrastiveTask(train.images, train.tokens, val_images=val.images,
                               val_tokens=val.tokens, batch_size=128), seed,
         c["clip_epochs"], 1e-3, monitor="loss")
    clip.eval()
    lap("clip")
    with torch.no_grad():
        codes, val_codes = vq.encode(train.images), vq.encode(val.images)
    dalle = DALLE(DALLEConfig(text_vocab=len(seen.vocab), text_len=c["text_len"],
                              image_vocab=c["num_codes"], image_tokens=vq.num_tokens,
                              **c["dalle"]))
    hist = _fit(dalle, TextToImageTask(train.tokens, codes, val_text=val.tokens,
                                       val_image=val_codes, batch_size=64), seed,
                c["dalle_epochs"], 1e-3, optimizer="adamw")
    dalle.eval()
    metrics["dalle_val_loss"] = float(hist.best)
    lap("transformer")

    # zero-shot CLIP on the Fashion-MNIST test set (grey item on the left half)
    keep = torch.isin(test_labels, torch.tensor(c["classes"]))
    zs_items, zs_labels = test_items[keep][:c["zero_shot"]], test_labels[keep][:c["zero_shot"]]
    zs = torch.zeros(len(zs_items), 3, 28, 56)
    zs[:, :, :, :28] = (zs_items.float() / 255)[:, None]
    prompts = seen.vocab.encode_all([f"a {words[k]}" for k in c["classes"]], c["text_len"])
    pred = torch.cat([clip.zero_shot(zs[i:i + 500], prompts) for i in range(0, len(zs), 500)])
    metrics["clip_zero_shot_acc"] = float((torch.tensor(c["classes"])[pred] == zs_labels)
                                          .float().mean())

    # phase 3: generate and judge, per caption type, seen and held-out
    gen = torch.Generator().manual_seed(seed)
    out = None if out is None else Path(out)
    rows = []
    for split in ("seen", "held_out"):
        for k, kind in enumerate(KINDS):
            if split == "held_out" and kind == "class":
                continue
            ev = make_captioned_images(test_items, test_labels, c["eval_captions"],
                                       kinds=(kind,), split=split, seed=seed + 7 + k, **opts)
            cand = dalle.sample_images(ev.tokens, vq, c["candidates"],
                                       temperature=c.get("temperature", 1.0),
                                       top_k=c.get("top_k"), generator=gen)  # (E, N, 3, 28, 56)
            best, _ = rerank(clip, cand, ev.tokens)
            recon = vq.decode(vq.encode(ev.images))  # the tokenizer's ceiling
            for mode, imgs in (("real", ev.images), ("tokenized", recon), ("first", cand[:, 0]),
                               ("rerank", best)):
                scores = judge(judge_cnn, judge_task, imgs, ev.attrs, ev.kind)
                row = {"split": split, "kind": kind, "images": mode,
                       **{a: _mean(v) for a, v in scores.items()},
                       "clip_score": float(clip.score(imgs, ev.tokens).mean())}
                rows.append(row)
                for a in ("class", "colour", "space", "clip_score"):
                    if row[a] == row[a]:  # not NaN
                        metrics[f"{kind}_{split}_{mode}_{a}"] = row[a]
            if out is not None:
                _sample_grids(out, split, kind, ev, cand, c.get("grids", 4))
    lap("generate_and_judge")
    if out is not None:
        from geodl._io import atomic_write

        table = study_table(rows, metrics, c)
        atomic_write(out / "study.md", lambda tmp: Path(tmp).write_text(table))
        atomic_write(out / "study.json", lambda tmp: Path(tmp).write_text(json.dumps(
            {"config": c, "rows": rows, "metrics": metrics}, indent=1)))
    return metrics


def _sample_grids(out: Path, split: str, kind: str, ev, cand: Tensor, n: int) -> None:
    """One PNG per caption: the real image, then the candidates."""
    from geodl.viz.images import save_image_grid

    for i in range(min(n, len(ev))):
        name = ev.captions[i].replace(" ", "_")
        grid = torch.cat([ev.images[i:i + 1], cand[i]])  # (1 + N, 3, 28, 56)
        save_image_grid(grid, out / "samples" / f"{split}-{kind}-{name}.png", ncol=len(grid))


def study_table(rows: list[dict], metrics: dict[str, float], config: dict) -> str:
    """The study's markdown table (accuracies in %) and the tokenizer/CLIP numbers."""
    def pct(v):
        return "-" if v != v else f"{100 * v:.1f}"

    lines = ["| combinations | caption type | images | class | colour | space | CLIP score |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['split']} | {r['kind']} | {r['images']} | {pct(r['class'])} | "
                     f"{pct(r['colour'])} | {pct(r['space'])} | {r['clip_score']:.1f} |")
    extra = ["", "| quantity | value |", "|---|---|"]
    for key in ("vqvae_mse", "vqvae_psnr", "vqvae_perplexity", "vqvae_usage", "dvae_mse",
                "dvae_psnr", "dvae_perplexity", "dvae_usage", "judge_half_acc",
                "clip_zero_shot_acc", "dalle_val_loss"):
        extra.append(f"| {key} | {metrics[key]:.4g} |")
    head = (f"# Mini DALL-E study\n\n{config['candidates']} candidates per caption, "
            f"{config['eval_captions']} captions per row; 'first' = no re-ranking, 'rerank' = "
            "CLIP's pick, 'real' = real images of the same captions (the judges' ceiling), "
            "'tokenized' = their VQ-VAE reconstructions (the tokenizer's ceiling).\n\n")
    return head + "\n".join(lines + extra) + "\n"

"""The ``scale`` suite: data-parallel throughput, neighbour sampling, random-walk embeddings.

Rows (every one geodl alone: its peers either need pyg-lib / torch-sparse, which the package
registry here lacks, or are a full-batch run shown as its own row):

- DDP throughput of ``fit``'s training step (GIN on MUTAG, graphs/s; CNN on 8x8 digits,
  images/s) at 1 and 2 processes launched by ``torchrun`` on gloo, with the communication
  share of a 2-process step (``1 - t(no_sync) / t(step)``: the all-reduce time not hidden
  behind the backward pass);
- sampler throughput (sampled edges/s) and the peak memory of sampling on power-law graphs of
  1e5, 1e6 and 1e7 edges: the same batches (1024 seeds, fan-outs 10, 5) at every size;
- WordNet nouns: GraphSAGE on neighbour-sampled batches next to full-batch GCN (accuracy,
  epoch time, peak memory of training);
- node2vec / DeepWalk on Cora + logistic regression on the standard split (Planetoid protocol:
  embeddings without features, 140 labels), node2vec link prediction on Cora (85/5/10 edges,
  as the GAE rows), SGNS word vectors on the tinyshakespeare words.

Peak memory on CPU is the growth of the resident set during the measured work (Linux's
``VmHWM`` reset through ``/proc/self/clear_refs`` just before), so it excludes the graph.
``python -m geodl.bench.scale_worker words`` prints the nearest-neighbour table of the word vectors.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from geodl.bench.experiments import Outcome
from geodl.bench.suites import Experiment, Published, Suite, register

__all__ = ["peak_rss_during", "ddp_throughput", "sampler_throughput", "wordnet_nodes",
           "node2vec_cora", "node2vec_link", "sgns_words", "word_neighbours"]

_DEEPWALK = "Perozzi et al. 2014 via Yang et al. 2016 (Planetoid split)"


def _rss(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None


def _release_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``), so that memory
    ``fn`` allocates shows as growth instead of silently reusing pages freed before it."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the measure may under-count reused pages
        pass


def peak_rss_during(fn):
    """``(fn(), bytes)``: the peak growth of the resident set while ``fn`` runs (Linux; ``None``
    elsewhere)."""
    try:
        _release_free_heap()
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        base = _rss("VmRSS")
    except OSError:
        base = None
    out = fn()
    peak = _rss("VmHWM")
    return out, (peak - base if base is not None and peak is not None else None)


# -- DDP throughput ---------------------------------------------------------------------------
def _ddp_case(case: str, root: str | None):
    from geodl.bench.tensors import TensorClassification, load_digits_images
    from geodl.models import CNN, GIN, CNNConfig
    from geodl.tasks import GraphPrediction

    torch.manual_seed(0)
    if case == "gin":
        from geodl.datasets import load_tu

        graphs = load_tu("MUTAG", root=root)
        model = GIN(in_channels=graphs[0].num_node_features, hidden_channels=64,
                    out_channels=2, num_layers=5, readout="sum")
        return model, GraphPrediction(list(graphs) * 4, batch_size=64), 64
    x, y, _, _ = load_digits_images()
    model = CNN(CNNConfig(in_channels=1, num_classes=10, channels=(32, 64), norm=None,
                          hidden=128, image_size=(8, 8)))
    return model, TensorClassification((x, y), (x[:0], y[:0]), (x[:0], y[:0]),
                                       batch_size=128), 128


def _ddp_worker(case: str, out: str, steps: int) -> None:
    """One rank of the throughput measurement (run by torchrun): median step time with the
    gradient all-reduce and without it (``no_sync``)."""
    import contextlib

    from geodl.tasks import distributed

    model, task, batch = _ddp_case(case, os.environ.get("GEODL_DATA"))
    world = distributed.setup(model)
    step_model = world.wrap(model) if world else model
    sharded = world.shard(task) if world else task
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = {"sync": [], "local": []}
    torch.manual_seed(1)
    batches = []
    while len(batches) < steps + 2:
        batches += list(sharded.train_batches())
    for mode in ("sync", "local"):
        for i, b in enumerate(batches[:steps + 2]):
            quiet = step_model.no_sync() if (mode == "local" and world) else \
                contextlib.nullcontext()
            tic = time.perf_counter()
            opt.zero_grad()
            with quiet:
                task.train_step(step_model, b).backward()
            opt.step()
            if i >= 2:  # two warm-up steps
                times[mode].append(time.perf_counter() - tic)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    if world is None or world.is_main:
        Path(out).write_text(json.dumps({"step_s": med["sync"], "local_s": med["local"],
                                         "batch": batch}))


def ddp_throughput(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Global samples/s of ``fit``'s step at 1 and 2 processes (torchrun, gloo)."""
    metrics, total = {}, 0.0
    env = dict(os.environ, OMP_NUM_THREADS="1", **({"GEODL_DATA": str(root)} if root else {}))
    for nproc in config["nprocs"]:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "ddp.json"
            tic = time.perf_counter()
            subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                            f"--nproc_per_node={nproc}", "-m", "geodl.bench.scale_worker", "ddp",
                            config["case"], str(out), str(config["steps"])],
                           env=env, check=True, capture_output=True, timeout=600)
            total += time.perf_counter() - tic
            r = json.loads(out.read_text())
        metrics[f"per_s_{nproc}"] = r["batch"] / r["step_s"]
        metrics[f"comm_share_{nproc}"] = max(0.0, 1 - r["local_s"] / r["step_s"])
    first, last = config["nprocs"][0], config["nprocs"][-1]
    metrics["speedup"] = metrics[f"per_s_{last}"] / metrics[f"per_s_{first}"]
    return Outcome(metrics, train_time=total)


# -- neighbour sampling -----------------------------------------------------------------------
def sampler_throughput(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Sampled edges/s and peak memory of :func:`~geodl.graph.sample_neighbors` on a
    power-law graph of ``config["edges"]`` edges (``nodes = edges / 10``)."""
    from geodl.datasets import make_power_law
    from geodl.graph import sample_neighbors, to_csr

    e = int(config["edges"])
    g = make_power_law(e // 10, e, seed=seed)
    csr = to_csr(g.edge_index, g.num_nodes)
    gen = torch.Generator().manual_seed(seed)
    seeds = [torch.randperm(g.num_nodes, generator=gen)[:config["batch_size"]]
             for _ in range(config["batches"])]

    def run():
        sampled, tic = 0, time.perf_counter()
        for s in seeds:
            sampled += sample_neighbors(csr, s, config["fanouts"], generator=gen)["e_id"].numel()
        return sampled, time.perf_counter() - tic

    (sampled, seconds), peak = peak_rss_during(run)
    metrics = {"edges_per_s": sampled / seconds, "sampled_edges_per_batch":
               sampled / len(seeds), "graph_edges": float(g.num_edges)}
    if peak is not None:
        metrics["peak_mib"] = peak / 2**20
    return Outcome(metrics, train_time=seconds)


def wordnet_nodes(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """GraphSAGE on sampled batches (``config["fanouts"]``) or full-batch GCN on WordNet."""
    from geodl.bench.experiments import outcome, train_model
    from geodl.datasets import load_wordnet_nouns
    from geodl.models import GCN, GraphSAGE
    from geodl.tasks import NodeClassification, SampledNodeClassification

    g = load_wordnet_nouns(seed=seed)
    torch.manual_seed(seed)
    kw = dict(in_channels=g.num_node_features, hidden_channels=config["hidden"],
              out_channels=26, num_layers=2, dropout=config["dropout"])
    if config.get("fanouts"):
        model = GraphSAGE(**kw)
        task = SampledNodeClassification(g, config["fanouts"], batch_size=config["batch_size"])
    else:
        model, task = GCN(**kw), NodeClassification(g)
    hist, peak = peak_rss_during(lambda: train_model(model, task, seed, config["fit"]))
    out = outcome(model, task, hist, task.evaluate(model, "test"))
    out.metrics["epoch_s"] = sum(hist.time) / max(hist.epochs, 1)
    if peak is not None:
        out.metrics["peak_mib"] = peak / 2**20
    return out


# -- random walks and skip-gram ---------------------------------------------------------------
def _embed(edge_index, n: int, config: dict, seed: int) -> torch.Tensor:
    from geodl.graph import random_walk
    from geodl.models import SkipGram
    from geodl.tasks import SkipGramTask, fit

    start = torch.arange(n).repeat(config["walks_per_node"])
    torch.manual_seed(seed)
    task = SkipGramTask(lambda: random_walk(edge_index, n, start, config["walk_length"],
                                            p=config["p"], q=config["q"]),
                        n, window=config["window"], num_negatives=config["negatives"],
                        batch_size=config["batch_size"])
    model = SkipGram(n, config["dim"])
    fit(model, task, epochs=config["epochs"], lr=config["lr"], seed=seed, progress=False)
    return model.embedding()


def node2vec_cora(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Embeddings from walks on Cora's edges (no features), then a logistic regression on
    the 140 training nodes, scored on the 1000 test nodes."""
    from sklearn.linear_model import LogisticRegression

    from geodl.datasets import load_planetoid

    g = load_planetoid("cora", root=root)
    tic = time.perf_counter()
    z = _embed(g.edge_index, g.num_nodes, config, seed).numpy()
    train_time = time.perf_counter() - tic
    clf = LogisticRegression(max_iter=2000).fit(z[g.train_mask], g.y[g.train_mask].numpy())
    acc = float((clf.predict(z[g.test_mask]) == g.y[g.test_mask].numpy()).mean())
    return Outcome({"test_acc": acc}, params=z.size, train_time=train_time)


def node2vec_link(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Link prediction on Cora: embeddings from walks on the training edges, test edges scored
    by :math:`\\sigma(z_u^\\top z_v)` against the split's negatives (AUC, AP)."""
    from geodl.datasets import load_planetoid
    from geodl.tasks import average_precision, edge_split, roc_auc

    g = load_planetoid("cora", root=root)
    split = edge_split(g, val=0.05, test=0.1, seed=seed)
    tic = time.perf_counter()
    z = _embed(split.train_graph.edge_index, g.num_nodes, config, seed)
    train_time = time.perf_counter() - tic
    pairs = torch.cat([split.test_pos, split.test_neg], 1)
    score = (z[pairs[0]] * z[pairs[1]]).sum(1)
    target = torch.cat([torch.ones(split.test_pos.size(1)), torch.zeros(split.test_neg.size(1))])
    metrics = {"test_auc": roc_auc(score, target), "test_ap": average_precision(score, target)}
    return Outcome(metrics, params=z.numel(), train_time=train_time)


def _words(root, min_count: int):
    from collections import Counter

    from geodl.datasets import load_tinyshakespeare

    words = re.findall(r"[a-z']+", load_tinyshakespeare(root).text.lower())
    counts = Counter(words)
    vocab = sorted((w for w, c in counts.items() if c >= min_count),
                   key=lambda w: (-counts[w], w))  # by frequency, then alphabetically
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.tensor([index.get(w, -1) for w in words])
    return ids[ids >= 0], vocab  # rare words dropped, as word2vec's min_count


def _word_vectors(root, config: dict, seed: int):
    from geodl.models import SkipGram
    from geodl.tasks import SkipGramTask, fit

    ids, vocab = _words(root, config["min_count"])
    length = config["row"]
    rows = ids[:len(ids) // length * length].view(-1, length)  # the text as path graphs
    torch.manual_seed(seed)
    task = SkipGramTask(rows, len(vocab), window=config["window"],
                        num_negatives=config["negatives"], batch_size=config["batch_size"])
    model = SkipGram(len(vocab), config["dim"])
    hist = fit(model, task, epochs=config["epochs"], lr=config["lr"], seed=seed,
               progress=False)
    return model.embedding(), vocab, hist


def word_neighbours(z: torch.Tensor, vocab: list[str], words, k: int = 5) -> dict[str, list]:
    """The ``k`` nearest words (cosine) of each of ``words``."""
    zn = torch.nn.functional.normalize(z, dim=1)
    out = {}
    for w in words:
        if w in vocab:
            sim = zn @ zn[vocab.index(w)]
            top = sim.topk(k + 1).indices.tolist()[1:]
            out[w] = [vocab[i] for i in top]
    return out


PROBES = ("king", "lord", "love", "death", "night", "sweet", "thou", "sword", "father", "rome")


def sgns_words(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """SGNS word vectors on the tinyshakespeare words (lower-cased, words seen at least
    ``min_count`` times); the row records the final training loss and the vocabulary size,
    ``python -m geodl.bench.scale_worker words`` prints the nearest-neighbour table."""
    tic = time.perf_counter()
    z, vocab, hist = _word_vectors(root, config, seed)
    return Outcome({"loss": hist.train_loss[-1], "vocab": float(len(vocab))},
                   params=2 * z.numel(), train_time=time.perf_counter() - tic,
                   history=hist.to_dict())


# -- the suite --------------------------------------------------------------------------------
WALKS = {"walks_per_node": 10, "walk_length": 40, "window": 5, "negatives": 5, "dim": 128,
         "batch_size": 8192, "lr": 0.01, "epochs": 5, "p": 1.0, "q": 1.0}
WORDS = {"min_count": 5, "row": 1000, "window": 5, "negatives": 5, "dim": 100,
         "batch_size": 8192, "lr": 0.005, "epochs": 3}
SAGE = {"hidden": 128, "dropout": 0.2, "fanouts": [10, 10], "batch_size": 1024,
        "fit": {"epochs": 10, "lr": 0.01}}


def _sampler(edges: int, seconds: float) -> Experiment:
    return Experiment(f"power-law graph, {edges:.0e} edges", "neighbour sampler [10, 5]",
                      sampler_throughput, {"edges": edges, "fanouts": [10, 5],
                                           "batch_size": 1024, "batches": 10},
                      impls=("geodl",), metric="edges_per_s", scale=1e-6,
                      unit="M sampled edges/s", seeds=1, seconds=seconds, quick_seeds=1)


def _ddp(case: str, name: str, unit: str) -> Experiment:
    return Experiment(name, "DDP, 2 processes", ddp_throughput,
                      {"case": case, "nprocs": [1, 2], "steps": 20}, impls=("geodl",),
                      metric="per_s_2", scale=1.0, unit=unit, seeds=1, seconds=90,
                      quick={"steps": 6}, quick_seeds=1)


register(Suite("scale", "beyond one process: DDP throughput at 1 and 2 processes (torchrun, "
               "gloo) with the communication share, neighbour-sampler throughput and memory "
               "at 1e5-1e7 edges, GraphSAGE on sampled WordNet batches next to full-batch "
               "GCN, node2vec on Cora (classification, link prediction), SGNS word vectors", (
    _ddp("gin", "MUTAG x4, GIN, global batch 64", "graphs/s"),
    _ddp("cnn", "digits 8x8, CNN, global batch 128", "images/s"),
    _sampler(100_000, 5), _sampler(1_000_000, 10), _sampler(10_000_000, 60),
    Experiment("WordNet nouns", "GraphSAGE (sampled [10, 10])", wordnet_nodes, SAGE,
               impls=("geodl",), seeds=2, seconds=120, quick={"fit": {"epochs": 2}},
               quick_seeds=1),
    Experiment("WordNet nouns", "GCN (full batch)", wordnet_nodes,
               {**SAGE, "fanouts": None, "fit": {"epochs": 100, "lr": 0.01}},
               impls=("geodl",), seeds=2, seconds=120, quick={"fit": {"epochs": 20}},
               quick_seeds=1),
    Experiment("Cora", "DeepWalk + logistic regression", node2vec_cora, WALKS,
               impls=("geodl",), published=Published(67.2, _DEEPWALK), seeds=2, seconds=60,
               quick={"epochs": 1, "walks_per_node": 4}, quick_seeds=1),
    Experiment("Cora", "node2vec (p=1, q=0.5) + logistic regression", node2vec_cora,
               {**WALKS, "q": 0.5}, impls=("geodl",), seeds=2, seconds=60,
               quick={"epochs": 1, "walks_per_node": 4}, quick_seeds=1),
    Experiment("Cora, 85/5/10 edges", "node2vec link prediction", node2vec_link, WALKS,
               impls=("geodl",), metric="test_auc", seeds=2, seconds=60,
               quick={"epochs": 1, "walks_per_node": 4}, quick_seeds=1),
    Experiment("tinyshakespeare words", "SGNS word vectors", sgns_words, WORDS,
               impls=("geodl",), metric="loss", scale=1.0, unit="SGNS loss",
               higher_is_better=False, seeds=1, seconds=120, quick={"epochs": 1},
               quick_seeds=1),
)))


def main(argv: list[str]) -> int:
    """The torchrun worker of the DDP rows, and the word-neighbour table."""
    if argv[:1] == ["ddp"]:
        _ddp_worker(argv[1], argv[2], int(argv[3]))
        return 0
    if argv[:1] == ["words"]:
        z, vocab, hist = _word_vectors(os.environ.get("GEODL_DATA"), WORDS, 0)
        print(f"SGNS on tinyshakespeare words: {len(vocab)} words, final loss "
              f"{hist.train_loss[-1]:.3f}\n\n| word | nearest neighbours (cosine) |\n|---|---|")
        for w, near in word_neighbours(z, vocab, PROBES).items():
            print(f"| {w} | {', '.join(near)} |")
        return 0
    print("usage: python -m geodl.bench.scale_worker ddp CASE OUT STEPS | words", file=sys.stderr)
    return 2

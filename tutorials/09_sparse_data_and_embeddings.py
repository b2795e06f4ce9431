"""
09 - Sparse data and embeddings
===============================

**Course sequence 5b** (see :ref:`course`). Words are symbols: a one-hot vector is a row of an
identity matrix, a bag of words the sum of its sentence's one-hots, both stored as **sparse**
matrices. Multiplying a bag of words by a weight matrix is the same as summing the weight rows
of the words (``nn.EmbeddingBag``) and the same as message passing on the bipartite graph
word -> sentence: three forms, the same numbers. Then embeddings learned from context: a
sentence is a path graph, the context window of size ``k`` is the ``k``-hop neighbourhood on
that path, skip-gram predicts the neighbours from the word and CBOW the word from the mean of
its neighbours (``propagate(aggregate="mean")``). Finally each representation classifies the UCI
sentiment sentences (Kotzias et al. 2015: Amazon, IMDb and Yelp reviews, 3000 labelled
sentences). About 1 min on a CPU (``GEODL_TUTORIAL_QUICK=1``: ~15 s).
"""

import os
import re
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F

from geodl.datasets.text import load_sentiment
from geodl.nn import bipartite_propagate, k_hop_edges, propagate
from geodl.tasks import accuracy, random_split
from geodl.testing import assert_same_numbers

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
torch.manual_seed(0)
torch.set_num_threads(1)  # small sparse products: one thread is fastest
# the raw UCI files: GEODL_DATA, else the repository's ../shared/data
root = os.environ.get("GEODL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"

# %%
# Tokens and a vocabulary
# -----------------------
# Lower-cased words; the vocabulary holds the words seen at least twice in the *training*
# sentences, every other word maps to ``<unk>`` (id 0).

data = load_sentiment(root)
tokens = [re.findall(r"[a-z0-9']+", s.lower()) for s in data.sentences]
train, _, test = random_split(len(tokens), (0.8, 0.0, 0.2), seed=0)
counts = Counter(w for i in train.tolist() for w in tokens[i])
vocab = ["<unk>"] + sorted(w for w, c in counts.items() if c >= 2)
index = {w: k for k, w in enumerate(vocab)}
ids = [torch.tensor([index.get(w, 0) for w in sent], dtype=torch.long) for sent in tokens]
V, S = len(vocab), len(ids)
print(f"{S} sentences, {sum(map(len, ids))} tokens, vocabulary of {V} words; "
      f"positive: {int(data.labels.sum())}")

# %%
# One-hot and bag-of-words as sparse matrices
# -------------------------------------------
# Stack all tokens: ``word`` holds each token's word id and ``sentence`` its sentence. The
# one-hot matrix ``O`` (tokens x V) has one 1 per row; the bag-of-words matrix
# ``B = P O`` (sentences x V, ``P`` the tokens -> sentence incidence) counts each word per
# sentence. Both are almost all zeros, so they are stored as sparse COO tensors.

word = torch.cat(ids)  # (T,)
sentence = torch.repeat_interleave(torch.arange(S), torch.tensor([len(s) for s in ids]))  # (T,)
T = word.numel()
onehot = torch.sparse_coo_tensor(torch.stack([torch.arange(T), word]), torch.ones(T), (T, V),
                                 check_invariants=True)
# B = P O: the entry (sentence, word) once per token; coalescing sums the duplicates into counts
bow = torch.sparse_coo_tensor(torch.stack([sentence, word]), torch.ones(T), (S, V),
                              check_invariants=True).coalesce()  # (S, V) word counts
print(f"one-hot {tuple(onehot.shape)}: {T} non-zeros, density {T / (T * V):.1e}; "
      f"bag of words {tuple(bow.shape)}: {bow._nnz()} non-zeros, "
      f"density {bow._nnz() / (S * V):.1e}")
print(f"dense float32 would take {S * V * 4 / 2**20:.1f} MiB, the sparse bag of words "
      f"{bow._nnz() * (2 * 8 + 4) / 2**20:.2f} MiB")
assert_same_numbers("bag of words == sum of one-hots (first sentence)", bow[0].to_dense(),
                    F.one_hot(ids[0], V).sum(0).float(), atol=0)

# %%
# A weight matrix ``E`` (V x d) applied to the bag of words, ``B E``, sums the rows of ``E`` of
# the sentence's words: ``nn.EmbeddingBag(mode="sum")``. As message passing, words and sentences
# are the two node sets of a bipartite graph with one edge ``word -> sentence`` per token; each
# word node carries its row of ``E`` and a sentence sums its incoming messages.

d = 16
bag = torch.nn.EmbeddingBag(V, d, mode="sum").double()
E = bag.weight.detach()
offsets = torch.tensor([0] + [len(s) for s in ids[:-1]]).cumsum(0)
as_sparse = torch.sparse.mm(bow.double(), E)  # (S, d)
as_bag = bag(word, offsets).detach()
as_graph = bipartite_propagate(E, word, sentence, S, "sum")  # words -> sentences
assert_same_numbers("bag of words @ E == nn.EmbeddingBag(sum)", as_sparse, as_bag)
assert_same_numbers("bag of words @ E == propagate on word -> sentence edges", as_graph,
                    as_bag)

# %%
# The context window is the k-hop neighbourhood of a path graph
# -------------------------------------------------------------
# Inside a sentence, token ``t`` is joined to ``t + 1`` in both directions: one path graph per
# sentence. A window of size 2 (two words either side) pairs every token with the tokens at most
# two hops away: ``k_hop_edges(path, T, 2)`` is that set of (context -> centre) pairs, which we
# check against the brute-force enumeration.

same = sentence[1:] == sentence[:-1]
step = torch.arange(T - 1)[same]
path = torch.cat([torch.stack([step, step + 1]), torch.stack([step + 1, step])], 1)
window = k_hop_edges(path, T, hops=2)  # (2, pairs): context -> centre
brute = sorted((j, i) for i in range(T) for j in range(max(0, i - 2), min(T, i + 3))
               if j != i and sentence[j] == sentence[i])
assert_same_numbers("2-hop edges of the path graphs == window pairs",
                    window.T, torch.tensor(sorted(brute, key=lambda p: (p[1], p[0]))), atol=0)
print(f"{window.size(1)} (context, centre) pairs from {T} tokens")

# %%
# Skip-gram and CBOW with negative sampling
# -----------------------------------------
# Two tables, ``W_in`` and ``W_out`` (V x d). Skip-gram (Mikolov et al. 2013) scores a pair
# (centre ``w``, context ``c``) by :math:`\sigma(u_c \cdot v_w)` and draws ``K`` negative words
# from the unigram distribution to the power 3/4:
#
# .. math::
#     \ell = -\log \sigma(u_c \cdot v_w) - \sum_{k=1}^{K} \log \sigma(-u_{n_k} \cdot v_w).
#
# CBOW swaps the roles: the centre word is predicted from :math:`h_w`, the **mean of its window's
# input vectors**, which is ``propagate`` with ``aggregate="mean"`` over the window edges.
# Both learn from the training sentences only.

dim, K = 32, 5
epochs = 1 if QUICK else 5
in_train = torch.zeros(S, dtype=torch.bool)
in_train[train] = True
pairs = window[:, in_train[sentence[window[1]]]]  # pairs inside training sentences
freq = torch.bincount(word[in_train[sentence]], minlength=V).double()
noise = freq**0.75 / (freq**0.75).sum()


def negative_sampling_loss(h, positive, generator):
    """Negative-sampling loss of vectors ``h`` (n, dim) for the words ``positive`` (n,)."""
    negatives = torch.multinomial(noise, positive.numel() * K, replacement=True,
                                  generator=generator).view(-1, K)  # (n, K)
    pos = (h * w_out[positive]).sum(-1)  # (n,)
    neg = torch.einsum("nd,nkd->nk", h, w_out[negatives])  # (n, K)
    return -(F.logsigmoid(pos).mean() + F.logsigmoid(-neg).sum(1).mean())


embeddings = {}
for kind in ("skip-gram", "CBOW"):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    w_in = torch.nn.Parameter(torch.randn(V, dim) * 0.1)
    w_out = torch.nn.Parameter(torch.zeros(V, dim))
    opt = torch.optim.Adam([w_in, w_out], lr=0.01)
    centres = torch.unique(pairs[1])  # tokens that have a context (CBOW trains on these)
    for epoch in range(epochs):
        if kind == "skip-gram":
            batches = pairs[:, torch.randperm(pairs.size(1), generator=gen)].split(1024, dim=1)
        else:
            batches = centres[torch.randperm(centres.numel(), generator=gen)].split(256)
        for batch in batches:
            opt.zero_grad()
            if kind == "skip-gram":  # predict the context word from the centre word
                loss = negative_sampling_loss(w_in[word[batch[1]]], word[batch[0]], gen)
            else:  # predict the centre word from the mean of its window
                h = propagate(w_in[word], pairs, aggregate="mean")[batch]  # (n, dim)
                loss = negative_sampling_loss(h, word[batch], gen)
            loss.backward()
            opt.step()
        print(f"{kind:9s} epoch {epoch + 1}: last batch loss {loss.item():.3f}")
    embeddings[kind] = w_in.detach()

# the CBOW input of one token, by hand: the mean of the window's vectors
t0 = int(centres[10])
ctx = [j for j in range(t0 - 2, t0 + 3) if j != t0 and 0 <= j < T and sentence[j] == sentence[t0]]
assert_same_numbers("CBOW window mean: propagate(mean) == by hand",
                    propagate(embeddings["CBOW"][word], pairs, aggregate="mean")[t0],
                    embeddings["CBOW"][word[ctx]].mean(0), atol=1e-6)


def neighbours(table, w, k=5):
    v = F.normalize(table, dim=1)
    sims = v @ v[index[w]]
    return [vocab[int(i)] for i in sims.topk(k + 1).indices[1:]]


for w in ("great", "bad", "phone"):
    if w in index:
        print(f"nearest to {w!r}: skip-gram {neighbours(embeddings['skip-gram'], w)}")

# %%
# Sentence classification with each representation
# ------------------------------------------------
# The same linear classifier (weight decay, Adam, 200 full-batch steps) reads each sentence as:
# its bag of words (a sparse linear model), the mean of frozen skip-gram or CBOW vectors, the
# mean of frozen random vectors (the baseline a learned embedding must beat), or an embedding
# learned end to end for the task (``nn.EmbeddingBag(mode="mean")`` then a linear layer).

y = data.labels


def fit_linear(features, steps=200):
    torch.manual_seed(0)
    clf = torch.nn.Linear(features.size(1), 2)
    opt = torch.optim.Adam(clf.parameters(), lr=0.05, weight_decay=1e-4)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(clf(features[train]), y[train]).backward()
        opt.step()
    with torch.no_grad():
        return accuracy(clf(features[test]), y[test])


def mean_vectors(table):
    return bipartite_propagate(table, word, sentence, S, "mean")  # (S, dim)


BOW = f"bag of words (sparse, V = {V})"
results = {BOW: fit_linear(bow.to_dense()),
           "mean of skip-gram vectors": fit_linear(mean_vectors(embeddings["skip-gram"])),
           "mean of CBOW vectors": fit_linear(mean_vectors(embeddings["CBOW"])),
           "mean of random vectors": fit_linear(mean_vectors(torch.randn(V, dim)))}

torch.manual_seed(0)
bag = torch.nn.EmbeddingBag(V, dim, mode="mean")
head = torch.nn.Linear(dim, 2)
opt = torch.optim.Adam([*bag.parameters(), *head.parameters()], lr=0.02)
train_mask = torch.zeros(S, dtype=torch.bool)
train_mask[train] = True
for _ in range(100 if QUICK else 300):
    opt.zero_grad()
    F.cross_entropy(head(bag(word, offsets))[train], y[train]).backward()
    opt.step()
with torch.no_grad():
    results["embedding learned for the task"] = accuracy(head(bag(word, offsets))[test], y[test])
for name, acc in results.items():
    print(f"{name:34s} test accuracy {acc:.3f}")
assert results[BOW] > 0.7

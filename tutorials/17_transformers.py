"""
17 - Transformers: attention is message passing on a complete graph
===================================================================

**Course sequence 8** (see :ref:`course`). Self-attention step by step, three ways that give the
same numbers: by hand (``softmax(Q K^T / sqrt(d)) V``), as message passing with softmax
aggregation on the complete graph (:func:`geodl.nn.propagate`), and by PyTorch's fused
``scaled_dot_product_attention``; multi-head attention equal to ``nn.MultiheadAttention``;
positional encodings as the Laplacian eigenvectors of the cycle graph; a small GPT trained on
tinyshakespeare and prompted; ViT's patches as the nodes of a grid graph. (BERT pre-training
then fine-tuning on the sentiment sentences needs minutes of CPU: ``benchmarks/bert.py`` runs it.)
About 2 min on a CPU (``GEODL_TUTORIAL_QUICK=1``: ~15 s).
"""

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from geodl.datasets.images import load_fashion_mnist
from geodl.datasets.text import load_tinyshakespeare
from geodl.graph import Graph, complete_graph, generic, laplacian
from geodl.models.transformer import GPT, ViT
from geodl.nn import MultiheadAttention, propagate
from geodl.tasks.text import sample_blocks
from geodl.testing import assert_same_numbers

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
torch.manual_seed(0)
torch.set_num_threads(1)
root = os.environ.get("GEODL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"

# %%
# Self-attention, three ways
# --------------------------
# ``n`` tokens with features ``X (n, d)``; queries, keys and values ``Q = X W_Q``, ``K = X W_K``,
# ``V = X W_V``. Token ``i`` attends to every token ``j``: a complete graph with an edge
# ``j -> i`` for every pair (self-loops included). The message is ``v_j``, the attention logit
# ``q_i . k_j / sqrt(d)``, and the softmax runs over the incoming edges of ``i``.

n, d = 6, 8
X = torch.randn(n, d, dtype=torch.float64)
Wq, Wk, Wv = (torch.randn(d, d, dtype=torch.float64) / math.sqrt(d) for _ in range(3))
Q, K, V = X @ Wq, X @ Wk, X @ Wv
by_hand = torch.softmax(Q @ K.T / math.sqrt(d), dim=1) @ V  # (n, d)

g = generic(complete_graph(n))  # the edge list of the complete graph: n * n edges
src, dst = g.edge_index
logits = (Q[dst] * K[src]).sum(-1) / math.sqrt(d)  # (E,) one logit per edge j -> i
as_graph = propagate(V, g.edge_index, aggregate="softmax", attention=logits)
sdpa = F.scaled_dot_product_attention(Q[None], K[None], V[None])[0]
assert_same_numbers("attention: by hand == propagate on the complete graph", as_graph, by_hand)
assert_same_numbers("attention: by hand == scaled_dot_product_attention", sdpa, by_hand)

# causal attention: the complete DAG (edges j -> i with j <= i only)
causal = generic(complete_graph(n, causal=True))
src, dst = causal.edge_index
mask = torch.ones(n, n, dtype=torch.bool).tril()
assert_same_numbers("causal attention: propagate on the DAG == masked softmax",
                    propagate(V, causal.edge_index, aggregate="softmax",
                              attention=(Q[dst] * K[src]).sum(-1) / math.sqrt(d)),
                    torch.softmax((Q @ K.T / math.sqrt(d)).masked_fill(~mask, -math.inf), 1) @ V)

# %%
# Multi-head attention
# --------------------
# ``H`` heads each attend in a ``d / H``-wide subspace; their outputs are concatenated and
# projected. geodl's ``MultiheadAttention`` carries ``nn.MultiheadAttention``'s parameter names,
# so the weights load across; its fast path (SDPA on the tagged complete graph) and its generic
# path (sparse attention over the materialised edges) both equal torch's module.

B, T, E, H = 3, 10, 16, 4
ours = MultiheadAttention(E, H).double().eval()
torch_mha = torch.nn.MultiheadAttention(E, H, batch_first=True).double().eval()
torch_mha.load_state_dict(ours.state_dict())
seq = torch.randn(B, T, E, dtype=torch.float64)
tokens = seq.reshape(B * T, E)  # node-major: node b * T + t
cg = complete_graph(T, batch_size=B)
with torch.no_grad():
    reference = torch_mha(seq, seq, seq, need_weights=False)[0].reshape(B * T, E)
    assert_same_numbers("MultiheadAttention (SDPA fast path) == nn.MultiheadAttention",
                        ours(tokens, cg), reference)
    assert_same_numbers("MultiheadAttention (generic graph path) == nn.MultiheadAttention",
                        ours(tokens, generic(cg)), reference)

# %%
# Positional encoding from the cycle graph
# ----------------------------------------
# Attention on a complete graph cannot tell positions apart, so positions are encoded. Close the
# sequence into a cycle: its Laplacian ``L = D - A`` commutes with the shift, so its eigenvectors
# are the Fourier modes. ``cos(2 pi m p / n)`` and ``sin(2 pi m p / n)`` are eigenvectors with
# eigenvalue ``2 - 2 cos(2 pi m / n)``: the sinusoidal encoding is the cycle graph's Laplacian
# encoding (see :func:`geodl.graph.sinusoidal_pe`).

n = 32
p = torch.arange(n, dtype=torch.float64)
ring = torch.stack([p.long(), (p.long() + 1) % n])
cycle = Graph(edge_index=torch.cat([ring, ring.flip(0)], 1), num_nodes=n)
L = laplacian(cycle, sparse=False).double()
for m in (1, 2, 5):
    lam = 2 - 2 * math.cos(2 * math.pi * m / n)
    for wave in (torch.cos(2 * math.pi * m * p / n), torch.sin(2 * math.pi * m * p / n)):
        assert_same_numbers(f"cycle Laplacian: L s = lambda_{m} s for a sinusoid", L @ wave,
                            lam * wave)

# %%
# A small GPT on tinyshakespeare, prompted
# ----------------------------------------
# A decoder-only transformer is causal attention on ``complete_graph(T, causal=True)``. A tiny
# character-level GPT (2 layers, 64 wide) trained for a few hundred steps already spells words
# and lays out speakers' names; ``benchmarks/gpt_shakespeare.py`` trains the nanoGPT CPU recipe.

corpus = load_tinyshakespeare(root)
gpt = GPT(block_size=64, vocab_size=len(corpus.vocab.chars), n_layer=2, n_head=4, n_embd=64)
opt = torch.optim.AdamW(gpt.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(0)
steps = 30 if QUICK else 600
for it in range(steps):
    x, y = sample_blocks(corpus.train, 64, 32, generator=gen)
    loss = F.cross_entropy(gpt(x).flatten(0, 1), y.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % max(1, steps // 4) == 0 or it == steps - 1:
        print(f"step {it:4d}: training loss {loss.item():.3f}")
gpt.eval()
with torch.no_grad():
    xv, yv = sample_blocks(corpus.val, 64, 64, generator=torch.Generator().manual_seed(1))
    print(f"validation loss {F.cross_entropy(gpt(xv).flatten(0, 1), yv.flatten()):.3f} "
          f"(uniform guess: {math.log(len(corpus.vocab.chars)):.3f})")
    prompt = corpus.vocab.encode("ROMEO:\n").unsqueeze(0)  # (1, 7)
    out = gpt.generate(prompt, 120, temperature=0.8, generator=torch.Generator().manual_seed(0))
print(corpus.vocab.decode(out[0]))

# %%
# ViT: image patches are the nodes of a grid graph
# ------------------------------------------------
# A Vision Transformer cuts a 28 x 28 image into 4 x 4 patches: a 7 x 7 grid of 49 nodes (plus
# a class token), each patch flattened and linearly embedded, then full self-attention among
# them. The patch embedding is a strided convolution, kernel = stride = patch size, on the
# pixel grid: the same numbers as ``F.conv2d`` with the embedding's weights.

images, labels = load_fashion_mnist(split="test")
batch = images[:4].float().unsqueeze(1) / 255  # (4, 1, 28, 28)
vit = ViT(image_size=28, patch_size=4, n_layer=2, n_head=4, n_embd=32).eval()
with torch.no_grad():
    patches = vit.patch_embed(vit.patchify(batch))  # (4 * 49, 32) or (4, 49, 32)
    conv = F.conv2d(batch, vit.patch_embed.weight.view(32, 1, 4, 4), vit.patch_embed.bias,
                    stride=4)  # (4, 32, 7, 7)
    assert_same_numbers("ViT patch embedding == stride-4 convolution on the pixel grid",
                        patches.reshape(4, 49, 32), conv.flatten(2).transpose(1, 2), atol=1e-5)
    print("ViT logits:", tuple(vit(batch).shape), "from", vit.grid, "patches per image")

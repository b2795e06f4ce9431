
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from geodl.models.transformer import (
    BERT,
    GPT,
    BertConfig,
    GPTConfig,
    Transformer,
    ViT,
    ViTConfig,
)

TOL64 = dict(atol=1e-10, rtol=0)


def torch_encoder(layers: nn.Module, d: int, heads: int, ff: int, num_layers: int, *,
                  final_norm: bool = True, norm_first: bool = True) -> nn.TransformerEncoder:
    """torch's own encoder (batch_first, GELU) with the weights of a geodl encoder."""
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=norm_first)
    ref = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d) if final_norm else None,
                                enable_nested_tensor=False)
    ref.load_state_dict(layers.state_dict(), strict=True)
    return ref.to(next(layers.parameters()).dtype).eval()


def tiny_gpt(**kw) -> GPT:
    cfg = dict(block_size=12, vocab_size=17, n_layer=2, n_head=2, n_embd=8)
    return GPT(GPTConfig(**{**cfg, **kw})).double().eval()


# -- GPT ------------------------------------------------------------------------------------
@given(st.integers(1, 3), st.integers(1, 12), st.sampled_from([1, 2, 4]))
def test_gpt_equals_torch_encoder_with_causal_mask(batch, length, heads):
    torch.manual_seed(0)
    model = tiny_gpt(n_head=heads)
    idx = torch.randint(17, (batch, length))
    ref = torch_encoder(model.encoder, 8, heads, 32, 2)
    mask = nn.Transformer.generate_square_subsequent_mask(length, dtype=torch.float64)
    with torch.no_grad():
        h = model.wte(idx) + model.wpe(torch.arange(length))
        expected = ref(h, mask=mask, is_causal=True) @ model.wte.weight.T
        torch.testing.assert_close(model(idx), expected, **TOL64)


def test_gpt_equals_nanogpt_twin_of_the_benchmark():
    from geodl.bench.twins import nanogpt_twin

    model = tiny_gpt()
    ref = nanogpt_twin(model).eval()
    idx = torch.randint(17, (3, 12))
    with torch.no_grad():
        torch.testing.assert_close(model(idx), ref(idx), **TOL64)
    # the same initialisation scheme as nanoGPT: tied weights, scaled residual projections
    assert model.lm_head.weight is model.wte.weight
    w = model.encoder.layers[0].linear2.weight
    assert abs(w.std().item() - 0.02 / 2) < 0.004


def test_gpt_is_causal():
    model = tiny_gpt()
    idx = torch.randint(17, (2, 10))
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 17
    with torch.no_grad():
        a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], **TOL64)
    assert (a[:, 6:] - b[:, 6:]).abs().max() > 1e-6


def test_gpt_backward_and_generate():
    model = GPT(block_size=6, vocab_size=9, n_layer=1, n_head=2, n_embd=8, dropout=0.1)
    idx = torch.randint(9, (2, 6))
    logits = model(idx)
    F.cross_entropy(logits.flatten(0, 1), idx.flatten()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    out = model.generate(idx[:, :2], 10, generator=torch.Generator().manual_seed(0))
    again = model.generate(idx[:, :2], 10, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 12) and torch.equal(out, again) and torch.equal(out[:, :2], idx[:, :2])
    greedy = model.generate(idx[:, :2], 1, top_k=1)
    assert torch.equal(greedy[:, -1], model(idx[:, :2])[:, -1].argmax(-1))


def test_gpt_errors():
    model = GPT(block_size=4, vocab_size=5, n_layer=1, n_head=1, n_embd=4)
    with pytest.raises(ValueError, match="length 5 > the model's maximum 4"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="n_head=3 must divide n_embd=8"):
        GPTConfig(n_head=3, n_embd=8)
    with pytest.raises(TypeError, match="not both"):
        GPT(GPTConfig(), n_layer=2)


# -- BERT -----------------------------------------------------------------------------------
def tiny_bert(**kw) -> BERT:
    cfg = dict(vocab_size=13, max_len=10, n_layer=2, n_head=2, n_embd=8, dropout=0.0)
    return BERT(BertConfig(**{**cfg, **kw})).double().eval()


@pytest.mark.parametrize("norm_first", [True, False])
def test_bert_equals_torch_encoder_with_padding(norm_first):
    model = tiny_bert(norm_first=norm_first)
    tokens = torch.randint(1, 13, (3, 7))
    tokens[1, 4:] = 0
    tokens[2, 2:] = 0
    ref = torch_encoder(model.encoder, 8, 2, 32, 2, final_norm=norm_first,
                        norm_first=norm_first)
    with torch.no_grad():
        h0 = model.emb_norm(model.tok(tokens) + model.pos(torch.arange(7)))
        expected = ref(h0, src_key_padding_mask=tokens == 0)
        out = model(tokens)
    real = tokens != 0  # torch zeroes padded rows only in its nested-tensor path; compare real
    torch.testing.assert_close(out[real], expected[real], **TOL64)


def test_bert_padding_invariance():
    model = tiny_bert()
    short = torch.tensor([[2, 5, 7, 9]])
    padded = torch.tensor([[2, 5, 7, 9, 0, 0, 0], [2, 8, 3, 0, 0, 0, 0]])
    with torch.no_grad():
        a, b = model(short), model(padded)
        torch.testing.assert_close(b[:1, :4], a, **TOL64)
        torch.testing.assert_close(model.classify(b)[:1], model.classify(a), **TOL64)
        torch.testing.assert_close(model.mlm_logits(b)[:1, :4], model.mlm_logits(a), **TOL64)
        # an explicit mask overrides the pad-id default
        c = model(padded, padding_mask=torch.zeros(2, 7, dtype=torch.bool))
    assert (c[:1, :4] - a).abs().max() > 1e-6


def test_bert_heads_and_backward():
    model = BERT(vocab_size=11, max_len=8, n_layer=1, n_head=2, n_embd=8, num_classes=3)
    tokens = torch.randint(1, 11, (4, 8))
    h = model(tokens)
    logits, classes = model.mlm_logits(h), model.classify(h)
    assert logits.shape == (4, 8, 11) and classes.shape == (4, 3)
    (logits.sum() + classes.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="length 9"):
        model(torch.ones(1, 9, dtype=torch.long))


def test_bert_mlm_learns_periodic_text():
    """MLM end to end (mask_tokens + BERT + tied head): on the periodic text 3, 4, ..., 10, 3,
    ... every masked token follows from its neighbours; 400 Adam steps learn it (the loss sits
    at log 8 for ~100 steps first, BERT's familiar plateau)."""
    from geodl.tasks.text import mask_tokens, sample_blocks

    data = torch.arange(3, 11).repeat(100)
    model = BERT(vocab_size=11, max_len=17, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)

    def batch(size):
        x, _ = sample_blocks(data, 16, size, generator=gen)
        x = torch.cat([torch.full((size, 1), 2), x], 1)  # [CLS] = 2
        return mask_tokens(x, 1, 11, special_ids=[0, 2], generator=gen)  # [PAD] 0, [MASK] 1

    for _ in range(400):
        inputs, labels = batch(16)
        loss = F.cross_entropy(model.mlm_logits(model(inputs)).flatten(0, 1), labels.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    inputs, labels = batch(64)
    with torch.no_grad():
        pred = model.mlm_logits(model(inputs)).argmax(-1)
    chosen = labels != -100
    assert (pred[chosen] == labels[chosen]).float().mean() > 0.9


# -- ViT ------------------------------------------------------------------------------------
def test_vit_equals_patchify_conv_and_torch_encoder():
    torch.manual_seed(0)
    vit = ViT(ViTConfig(image_size=(8, 12), patch_size=4, in_channels=2, num_classes=5,
                        n_layer=2, n_head=2, n_embd=8, mlp_ratio=2.0)).double().eval()
    images = torch.randn(3, 2, 8, 12, dtype=torch.float64)
    conv = nn.Conv2d(2, 8, 4, stride=4).double()  # torchvision's conv_proj
    conv.weight.data = vit.patch_embed.weight.data.view(8, 2, 4, 4)
    conv.bias.data = vit.patch_embed.bias.data
    ref = torch_encoder(vit.encoder, 8, 2, 16, 2)
    with torch.no_grad():
        patches = conv(images).flatten(2).transpose(1, 2)  # (B, 6, E)
        z = torch.cat([vit.cls_token.expand(3, -1, -1), patches], 1) + vit.pos_embed
        expected = vit.head(ref(z)[:, 0])
        torch.testing.assert_close(vit(images), expected, **TOL64)


def test_vit_patches_are_grid_nodes():
    vit = ViT(image_size=8, patch_size=2, n_layer=1, n_head=1, n_embd=4, in_channels=3)
    images = torch.randn(2, 3, 8, 8)
    nodes = vit.patchify(images).view(2, 4, 4, 12)  # (B, h, w, C*p*p), row-major grid
    torch.testing.assert_close(nodes[1, 2, 3], images[1, :, 4:6, 6:8].flatten())


def test_vit_laplacian_positions_backward():
    vit = ViT(image_size=8, patch_size=2, n_layer=1, n_head=2, n_embd=8,
              pos_encoding="laplacian")
    assert vit.grid_pe.shape == (16, 8)
    out = vit(torch.randn(2, 1, 8, 8))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert vit.pos_proj.weight.grad is not None and vit.cls_token.grad is not None


def test_vit_errors():
    with pytest.raises(ValueError, match="multiple of patch_size=3"):
        ViTConfig(image_size=28, patch_size=3)
    with pytest.raises(ValueError, match="pos_encoding='sine'"):
        ViTConfig(pos_encoding="sine")
    with pytest.raises(ValueError, match="at least two patches"):
        ViTConfig(image_size=4, patch_size=4, pos_encoding="laplacian")
    vit = ViT(image_size=8, patch_size=4, n_layer=1, n_head=1, n_embd=4)
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"):
        vit(torch.randn(1, 3, 8, 8))


# -- encoder-decoder ------------------------------------------------------------------------
def tiny_seq2seq() -> Transformer:
    return Transformer(src_vocab_size=11, tgt_vocab_size=7, max_len=10, n_layer=2, n_head=2,
                   n_embd=8).double().eval()


def test_seq2seq_equals_torch_transformer():
    model = tiny_seq2seq()
    src = torch.randint(1, 11, (2, 6))
    src[1, 3:] = 0
    tgt = torch.randint(1, 7, (2, 5))
    enc = torch_encoder(model.encoder, 8, 2, 32, 2)
    dec_layer = nn.TransformerDecoderLayer(8, 2, 32, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
    dec = nn.TransformerDecoder(dec_layer, 2, norm=nn.LayerNorm(8)).double().eval()
    dec.load_state_dict(model.decoder.state_dict(), strict=True)
    with torch.no_grad():
        pe = model.pos.table()  # sinusoidal, (max_len, E)
        s = model.src_tok(src) * 8**0.5 + pe[:6]
        t = model.tgt_tok(tgt) * 8**0.5 + pe[:5]
        memory = enc(s, src_key_padding_mask=src == 0)
        mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
        h = dec(t, memory, tgt_mask=mask, tgt_is_causal=True,
                memory_key_padding_mask=src == 0)
        torch.testing.assert_close(model(src, tgt), model.head(h), **TOL64)


def test_seq2seq_causal_and_padding_invariant():
    model = tiny_seq2seq()
    src = torch.randint(1, 11, (2, 4))
    tgt = torch.randint(1, 7, (2, 6))
    changed = tgt.clone()
    changed[:, 3:] = (changed[:, 3:] % 6) + 1
    padded = torch.cat([src, torch.zeros(2, 3, dtype=torch.long)], 1)
    with torch.no_grad():
        a = model(src, tgt)
        torch.testing.assert_close(model(src, changed)[:, :3], a[:, :3], **TOL64)
        torch.testing.assert_close(model(padded, tgt), a, **TOL64)
    model.train()
    model(src, tgt).sum().backward()
    assert all(p.grad is not None for p in model.parameters())

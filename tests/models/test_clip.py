"""CLIP: the learnable temperature, text read at <eos>, zero-shot, CLIP score, errors."""

import math

import pytest
import torch

from geodl.models import CLIP, CLIPConfig


def _clip(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=9, context=6, image_size=(8, 16), patch_size=4, embed_dim=8, width=8,
               n_layer=1, n_head=2)
    return CLIP(CLIPConfig(**{**cfg, **kw})).eval()


def test_logit_scale_starts_at_one_over_007_and_is_clamped_at_100():
    clip = _clip()
    assert float(clip.logit_scale.detach()) == pytest.approx(math.log(1 / 0.07))
    with torch.no_grad():
        clip.logit_scale.fill_(10.0)
    assert float(clip.scale().detach()) == 100.0


def test_logits_are_scaled_cosines():
    clip = _clip()
    x, t = torch.rand(3, 3, 8, 16), torch.tensor([[2, 3, 1, 0, 0, 0]] * 2 + [[4, 1, 0, 0, 0, 0]])
    logits = clip(x, t)
    u, v = clip.encode_image(x), clip.encode_text(t)
    assert torch.allclose(u.norm(dim=1), torch.ones(3)) and torch.allclose(v.norm(dim=1),
                                                                          torch.ones(3))
    assert torch.allclose(logits, clip.scale() * u @ v.t())
    assert torch.allclose(clip.score(x, t), 100 * (u * v).sum(1).clamp(min=0))


def test_text_is_read_at_eos_so_more_padding_changes_nothing():
    clip = _clip()
    short = clip.encode_text(torch.tensor([[2, 5, 1, 0]]))
    long = clip.encode_text(torch.tensor([[2, 5, 1, 0, 0, 0]]))
    other = clip.encode_text(torch.tensor([[2, 6, 1, 0, 0, 0]]))
    assert torch.allclose(short, long, atol=1e-6) and not torch.allclose(short, other)


def test_zero_shot_picks_the_most_similar_prompt():
    clip = _clip(image_encoder="cnn")
    x = torch.rand(5, 3, 8, 16)
    prompts = torch.tensor([[2, 7, 1, 0, 0, 0], [2, 8, 1, 0, 0, 0]])
    sims = clip.encode_image(x) @ clip.encode_text(prompts).t()
    assert torch.equal(clip.zero_shot(x, prompts), sims.argmax(1))


def test_clear_errors():
    clip = _clip()
    with pytest.raises(ValueError, match="length 7 > the text context 6"):
        clip.encode_text(torch.ones(1, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="image_encoder="):
        CLIPConfig(vocab_size=3, image_encoder="rnn")

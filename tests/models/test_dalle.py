"""The text-to-image transformer: causal mask, deterministic sampling, re-ranking, errors."""

import pytest
import torch

from geodl.models import DALLE, VQVAE, DALLEConfig, rerank


def _model():
    torch.manual_seed(0)
    return DALLE(DALLEConfig(text_vocab=9, text_len=4, image_vocab=5, image_tokens=6,
                             n_layer=2, n_head=2, n_embd=16)).eval()


def test_an_image_token_never_hears_a_later_one():
    model = _model()
    text, image = torch.randint(9, (2, 4)), torch.randint(5, (2, 6))
    base = model(text, image)
    for j in range(6):
        changed = image.clone()
        changed[:, j] = (changed[:, j] + 1) % 5
        out = model(text, changed)
        # row i predicts token i from tokens < i: rows <= j cannot see token j
        assert torch.allclose(out[:, :j + 1], base[:, :j + 1], atol=1e-6)
        if j < 5:
            assert not torch.allclose(out[:, j + 1:], base[:, j + 1:])


def test_every_image_token_hears_the_caption():
    model = _model()
    text, image = torch.randint(9, (1, 4)), torch.randint(5, (1, 6))
    other = text.clone()
    other[0, 0] = (other[0, 0] + 1) % 9
    diff = (model(text, image) - model(other, image)).abs().amax(-1)
    assert (diff > 0).all()


def test_generation_is_deterministic_for_a_seed():
    model = _model()
    text = torch.randint(9, (3, 4))
    a = model.generate(text, generator=torch.Generator().manual_seed(1))
    b = model.generate(text, generator=torch.Generator().manual_seed(1))
    c = model.generate(text, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (3, 6) and int(a.min()) >= 0 and int(a.max()) < 5


def test_top_1_sampling_is_greedy():
    model = _model()
    text = torch.randint(9, (2, 4))
    out = model.generate(text, top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model(text, out).argmax(-1), out)


def test_sample_images_and_rerank_pick_the_best_clip_score():
    model = _model()
    vq = VQVAE((8, 12), 3, num_codes=5, code_dim=4, hidden=8).eval()  # 2 x 3 = 6 tokens
    cand = model.sample_images(torch.randint(9, (2, 4)), vq, candidates=3,
                               generator=torch.Generator().manual_seed(0))
    assert cand.shape == (2, 3, 3, 8, 12) and 0 <= float(cand.min()) <= float(cand.max()) <= 1

    class Fake(torch.nn.Module):  # similarity = mean pixel of the candidate
        def encode_image(self, x):
            return x.mean((1, 2, 3))[:, None]

        def encode_text(self, t):
            return torch.ones(len(t), 1)

    best, scores = rerank(Fake(), cand, torch.zeros(2, 4, dtype=torch.long))
    assert scores.shape == (2, 3)
    for i in range(2):
        assert torch.equal(best[i], cand[i, scores[i].argmax()])


def test_clear_errors():
    model = _model()
    with pytest.raises(ValueError, match=r"give \(B, 4\) caption ids"):
        model(torch.zeros(1, 5, dtype=torch.long), torch.zeros(1, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"text ids must lie in \[0, 9\)"):
        model.generate(torch.full((1, 4), 9))
    with pytest.raises(ValueError, match=r"give \(1, 6\) codes"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.generate(torch.zeros(1, 4, dtype=torch.long), temperature=0)

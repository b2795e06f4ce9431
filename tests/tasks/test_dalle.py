"""Mini DALL-E objectives: InfoNCE by hand, the tokenizer, CLIP and text-to-image tasks on fit."""

import math

import pytest
import torch

from geodl.bench.dalle import torch_infonce
from geodl.models import CLIP, DALLE, DVAE, VQVAE, CLIPConfig, DALLEConfig
from geodl.tasks import (
    AttributeTask,
    ContrastiveTask,
    TextToImageTask,
    TokenizerTask,
    contrastive_loss,
    fit,
)


def test_contrastive_loss_equals_a_hand_computed_3x3_value_and_is_symmetric():
    s = [[2.0, 0.0, 1.0], [0.5, 1.0, 0.0], [0.0, 3.0, 1.0]]

    def ce(rows):  # mean over i of -log softmax(row_i)[i]
        return sum(-r[i] + math.log(sum(math.exp(v) for v in r)) for i, r in
                   enumerate(rows)) / 3

    cols = [list(c) for c in zip(*s)]
    expected = 0.5 * (ce(s) + ce(cols))
    logits = torch.tensor(s)
    assert float(contrastive_loss(logits)) == pytest.approx(expected, abs=1e-6)
    assert float(contrastive_loss(logits.t())) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match=r"square \(B, B\)"):
        contrastive_loss(torch.zeros(2, 3))


def test_torch_twin_of_the_contrastive_loss_matches():
    img, txt = torch.randn(16, 8), torch.randn(16, 8)
    scale = torch.tensor(math.log(1 / 0.07))
    logits = scale.exp() * torch.nn.functional.normalize(img, dim=1) @ \
        torch.nn.functional.normalize(txt, dim=1).t()
    assert torch.allclose(contrastive_loss(logits), torch_infonce(img, txt, scale), atol=1e-6)


def _images(n=64):
    torch.manual_seed(0)
    x = torch.zeros(n, 3, 8, 16)
    x[: n // 2, 0, 2:6, 2:6] = 1.0  # red squares on the left, blue on the right
    x[n // 2:, 2, 2:6, 10:14] = 1.0
    return x


@pytest.mark.parametrize("kind", ["vqvae", "dvae"])
def test_tokenizer_task_trains_and_reports_usage(kind):
    x = _images()
    model = (VQVAE((8, 16), 3, num_codes=8, code_dim=4, hidden=8, ema=True) if kind == "vqvae"
             else DVAE((8, 16), 3, num_codes=8, code_dim=4, hidden=8))
    task = TokenizerTask(x, val_images=x, batch_size=16, tau_steps=8)
    hist = fit(model, task, epochs=4, lr=3e-3, progress=False)
    assert hist.val["mse"][-1] < hist.val["mse"][0]
    assert 0 < hist.val["usage"][-1] <= 1 and 1 <= hist.val["perplexity"][-1] <= 8
    assert task.state_dict() == {"step": 16}
    assert task.temperature() == pytest.approx(1 / 16)


def test_contrastive_task_learns_to_match_captions():
    x = _images()
    tokens = torch.tensor([[2, 3, 1, 0]] * 32 + [[2, 4, 1, 0]] * 32)
    clip = CLIP(CLIPConfig(vocab_size=5, context=4, image_size=(8, 16), patch_size=4,
                           embed_dim=8, width=8, n_layer=1, n_head=2))
    mix = torch.arange(64).view(2, 32).t().flatten()  # both captions in every val batch
    task = ContrastiveTask(x, tokens, val_images=x[mix], val_tokens=tokens[mix], batch_size=16)
    hist = fit(clip, task, epochs=6, lr=3e-3, progress=False)
    assert hist.val["loss"][-1] < hist.val["loss"][0] and hist.val["acc"][-1] == 1.0
    with pytest.raises(ValueError, match="must pair up"):
        ContrastiveTask(x, tokens[:3])


def test_text_to_image_task_starts_near_log_k_and_learns():
    torch.manual_seed(0)
    text = torch.tensor([[2, 1, 0]] * 32 + [[3, 1, 0]] * 32)
    image = torch.cat([torch.zeros(32, 6, dtype=torch.long), torch.full((32, 6), 4)])
    model = DALLE(DALLEConfig(text_vocab=4, text_len=3, image_vocab=5, image_tokens=6,
                              n_layer=1, n_head=2, n_embd=16))
    task = TextToImageTask(text, image, val_text=text, val_image=image, batch_size=16)
    assert task.evaluate(model.eval(), "val")["loss"] == pytest.approx(math.log(5), abs=0.2)
    hist = fit(model, task, epochs=10, lr=1e-2, progress=False)
    assert hist.val["loss"][-1] < 0.1
    out = model.eval().generate(text[[0, 40]], top_k=1)
    assert torch.equal(out, image[[0, 40]])


def test_attribute_task_checks_its_labels():
    with pytest.raises(ValueError, match=r"give \(N, 2\), one column per head"):
        AttributeTask(torch.zeros(4, 3, 8, 8), torch.zeros(4, 3, dtype=torch.long), (3, 2))

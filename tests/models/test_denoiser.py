"""The grid-graph U-Net denoiser: its plain-torch twin, fast vs generic paths, conditioning."""

import pytest
import torch

from geodl.bench.denoiser_twin import TorchDenoiser
from geodl.models import Denoiser, DenoiserConfig

CFG = dict(channels=(8, 16), attention_levels=(1,), groups=4, num_heads=2, num_timesteps=50)


def _pair(**options):
    cfg = DenoiserConfig(**{**CFG, **options})
    model = Denoiser(cfg).double()
    twin = TorchDenoiser(cfg).double()
    twin.load_state_dict(model.state_dict())
    return model, twin


@pytest.mark.parametrize("options", [{}, {"num_classes": 3, "blocks": 2},
                                     {"channels": (8, 8, 16), "attention_levels": (1, 2),
                                      "out_channels": 2}])
def test_twin_has_the_same_parameters_and_outputs(options):
    model, twin = _pair(**options)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    x, t = torch.randn(3, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 17, 49])
    labels = torch.tensor([0, 2, 3]) if "num_classes" in options else None
    out = model.eval()(x, t, labels)
    assert out.shape == (3, options.get("out_channels", 1), 8, 8)
    torch.testing.assert_close(out, twin.eval()(x, t, labels), rtol=1e-10, atol=1e-10)


def test_twin_gradients_and_label_dropout_in_training():
    model, twin = _pair(num_classes=3, label_dropout=0.5)
    x, t, y = torch.randn(4, 1, 8, 8, dtype=torch.float64), torch.tensor([1, 2, 3, 4]), \
        torch.tensor([0, 1, 2, 0])
    torch.manual_seed(5)
    a = model.train()(x, t, y)
    torch.manual_seed(5)
    b = twin.train()(x, t, y)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    a.square().sum().backward()
    b.square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-8, atol=1e-10, msg=name)


def test_fast_path_equals_generic_message_passing():
    model = Denoiser(DenoiserConfig(**CFG, num_classes=2)).double().eval()
    x, t, y = torch.randn(2, 1, 8, 8, dtype=torch.float64), torch.tensor([3, 40]), \
        torch.tensor([1, 2])
    torch.testing.assert_close(model(x, t, y), model(x, t, y, fast=False), rtol=1e-10,
                               atol=1e-10)


def test_label_dropout_only_in_training_and_null_label_is_unconditional():
    model = Denoiser(DenoiserConfig(**CFG, num_classes=3, label_dropout=0.9)).eval()
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([5, 5])
    null = torch.tensor([3, 3])
    assert torch.equal(model(x, t, None), model(x, t, null))
    assert not torch.allclose(model(x, t, torch.tensor([0, 1])), model(x, t, null))
    assert torch.equal(model(x, t, torch.tensor([0, 1])), model(x, t, torch.tensor([0, 1])))


def test_bad_input():
    model = Denoiser(DenoiserConfig(**CFG, num_classes=3))
    x = torch.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"t must hold integer timesteps in \[0, 50\)"):
        model(x, torch.tensor([0, 50]))
    with pytest.raises(ValueError, match="divisible by 2"):
        model(torch.randn(2, 1, 7, 8), 0)
    with pytest.raises(ValueError, match=r"x must be an image batch \(B, 1, H, W\)"):
        model(torch.randn(2, 3, 8, 8), 0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, num_classes=3\]"):
        model(x, 0, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="labels given to an unconditional"):
        Denoiser(DenoiserConfig(**CFG))(x, 0, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="not divisible by groups"):
        DenoiserConfig(channels=(6, 8), groups=4)
    with pytest.raises(ValueError, match="attention_levels"):
        DenoiserConfig(channels=(8,), attention_levels=(1,), groups=4)

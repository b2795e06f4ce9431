"""Generator, Critic and GAN: output ranges, conditioning, generic == fast path, mismatches."""

import pytest
import torch

from geodl.models import GAN, Critic, Generator


def test_generator_and_critic_generic_path_equal_fast_path():
    torch.manual_seed(0)
    g = Generator(5, (8, 8), channels=(6, 4), num_classes=2).double()
    c = Critic((8, 8), channels=(4, 6), num_classes=2).double()
    z, y = torch.randn(3, 5, dtype=torch.float64), torch.tensor([1, 0, 1])
    img = g(z, y)
    assert img.shape == (3, 1, 8, 8) and img.abs().max() <= 1
    torch.testing.assert_close(g(z, y, fast=False), img)
    torch.testing.assert_close(c(img, y, fast=False), c(img, y))
    assert c(img, y).shape == (3,)


def test_conditional_critic_scores_image_and_label_together():
    # the label must interact with the image: with it joined only to a linear last layer,
    # D(x, y) = f(x) + b_y, and D(x, 0) - D(x, 1) would be one constant for every image
    torch.manual_seed(0)
    c = Critic((8, 8), channels=(4, 6), num_classes=2).double()
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        gap = c(x, torch.zeros(5, dtype=torch.long)) - c(x, torch.ones(5, dtype=torch.long))
    assert float(gap.max() - gap.min()) > 1e-4
    assert c.net.convs[0].in_channels == 1 + 2  # the image and one plane per class
    with pytest.raises(ValueError, match=r"pass labels y of shape \(5,\)"):
        c(x)
    with pytest.raises(ValueError, match=r"the critic takes \(B, 1, 8, 8\)"):
        c(torch.rand(5, 2, 8, 8, dtype=torch.float64), torch.zeros(5, dtype=torch.long))


def test_critic_has_no_batch_norm_by_default():
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in Critic().modules())
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in Generator().modules())


def test_gan_sample_and_mismatches():
    torch.manual_seed(0)
    gan = GAN(Generator(4, (8, 8), channels=(4,), num_classes=3),
              Critic((8, 8), channels=(4,), num_classes=3))
    s = gan.sample(4, torch.tensor([0, 1, 2, 0]))
    assert s.shape == (4, 1, 8, 8) and 0 <= s.min() and s.max() <= 1
    assert gan.latent == 4 and gan.num_classes == 3
    with pytest.raises(ValueError, match="latent size"):
        gan.generator(torch.randn(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="build both for the same images"):
        GAN(Generator(4, (8, 8), channels=(4,)), Critic((16, 16), channels=(4,)))
    with pytest.raises(ValueError, match="build both for the same images"):
        GAN(Generator(4, (8, 8), channels=(4,), num_classes=2), Critic((8, 8), channels=(4,)))

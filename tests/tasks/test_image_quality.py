"""Tests of geodl.tasks.image_quality: the Frechet distance against scipy's matrix square
root, the classifier features, accuracy and caching, and PSNR."""

import numpy as np
import pytest
import scipy.linalg
import torch

from geodl.models import CNNConfig
from geodl.tasks.image_quality import (
    classifier_accuracy,
    classifier_features,
    frechet_distance,
    gaussian_frechet,
    psnr,
    train_feature_classifier,
)


def scipy_frechet(a, b):
    """The textbook formula with scipy.linalg.sqrtm of the (non-symmetric) product."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


@pytest.mark.parametrize("dim", [1, 3, 8])
def test_frechet_matches_scipy_sqrtm_on_random_gaussians(dim):
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(200, dim)) @ rng.normal(size=(dim, dim))
    b = rng.normal(size=(150, dim)) @ rng.normal(size=(dim, dim)) + rng.normal(size=dim)
    got = frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert got == pytest.approx(scipy_frechet(a, b), rel=1e-7, abs=1e-9)


def test_frechet_closed_forms():
    eye = torch.eye(3, dtype=torch.float64)
    assert gaussian_frechet(torch.zeros(3), eye, torch.zeros(3), eye) == pytest.approx(0, abs=1e-12)
    # diagonal covariances: sum (mu1-mu2)^2 + sum (sqrt(s1) - sqrt(s2))^2
    d = gaussian_frechet(torch.zeros(3), torch.diag(torch.tensor([1.0, 4, 9])),
                         torch.tensor([1.0, 0, 2]), torch.diag(torch.tensor([4.0, 4, 1])))
    assert d == pytest.approx(1 + 4 + (1 + 0 + 4))
    x = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-9)


def test_frechet_through_a_feature_map_and_bad_input():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.rand(30, 1, 4, 4, generator=g), torch.rand(40, 1, 4, 4, generator=g)
    flat = frechet_distance(real.flatten(1), fake.flatten(1))
    assert frechet_distance(real, fake, features=lambda x: x.flatten(1), batch_size=7) == (
        pytest.approx(flat, rel=1e-10))
    with pytest.raises(ValueError, match="without features="):
        frechet_distance(real, fake)
    with pytest.raises(ValueError, match="share the feature size"):
        frechet_distance(torch.rand(5, 3), torch.rand(5, 4))


def test_feature_classifier_trains_caches_and_scores(tmp_path):
    g = torch.Generator().manual_seed(0)
    # two separable classes of 8x8 images: bright top half vs bright bottom half
    labels = torch.arange(64) % 2
    images = 0.3 * torch.rand(64, 1, 8, 8, generator=g)
    images[labels == 0, :, :4] += 0.7
    images[labels == 1, :, 4:] += 0.7
    config = CNNConfig(channels=(4,), hidden=16, image_size=(8, 8), num_classes=2)
    path = tmp_path / "clf.pt"
    model = train_feature_classifier(images, labels, path=path, epochs=8, batch_size=16,
                                     config=config, lr=0.01)
    assert not model.training and path.exists()
    assert classifier_accuracy(model, images, labels) == 1.0
    assert classifier_accuracy(model, images, 1 - labels) == 0.0
    feats = classifier_features(model, images)
    assert feats.shape == (64, 16) and not model.training
    loaded = train_feature_classifier(images, labels, path=path, epochs=1000, config=config)
    assert torch.equal(classifier_features(loaded, images), feats)  # loaded, not retrained
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        train_feature_classifier(images[:, 0], labels)


def test_psnr():
    clean = torch.zeros(2, 1, 4, 4)
    assert psnr(clean, clean + 0.01) == pytest.approx(40.0)
    assert psnr(clean, clean + 0.5, max_value=2.0) == pytest.approx(10 * np.log10(16))

"""Autoencoder: conv and dense forms, conditioning, generic == fast path, shape errors."""

import pytest
import torch

from geodl.models import Autoencoder


@pytest.mark.parametrize("kind", ["conv", "dense"])
def test_shapes_and_generic_path(kind):
    torch.manual_seed(0)
    ae = Autoencoder((8, 8), 1, latent=3, kind=kind, channels=(4, 6), hidden=(10,),
                     num_classes=2).double()
    x, y = torch.rand(5, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])
    z = ae.encode(x, y)
    assert z.shape == (5, 3) and ae.decode(z, y).shape == (5, 1, 8, 8)
    torch.testing.assert_close(ae(x, y, fast=False), ae(x, y))
    rec = ae.reconstruct(x, y)
    assert rec.min() >= 0 and rec.max() <= 1


def test_errors_name_the_shapes():
    ae = Autoencoder((8, 8), 1, latent=3, channels=(4,))
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"):
        ae(torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="latent=3"):
        ae.decode(torch.randn(2, 4))
    with pytest.raises(ValueError, match="kind"):
        Autoencoder(kind="rnn")

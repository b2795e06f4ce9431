"""GridEncoder / GridDecoder / MLP: generic message-passing path == fast path, shapes, errors."""

import pytest
import torch

from geodl.models.grid_coders import MLP, GridDecoder, GridEncoder, check_image_size


@pytest.mark.parametrize("norm", [None, "batch"])
def test_encoder_generic_path_equals_fast_path(norm):
    torch.manual_seed(0)
    enc = GridEncoder((8, 12), 2, 5, channels=(3, 4), num_classes=3, norm=norm).double()
    x, y = torch.rand(3, 2, 8, 12, dtype=torch.float64), torch.tensor([0, 2, 1])
    fast = enc(x, y)
    assert fast.shape == (3, 5)
    torch.testing.assert_close(enc(x, y, fast=False), fast)


@pytest.mark.parametrize("norm", [None, "batch"])
def test_decoder_generic_path_equals_fast_path(norm):
    torch.manual_seed(0)
    dec = GridDecoder(6, (8, 4), 2, channels=(5, 3), num_classes=2, norm=norm).double()
    z, y = torch.randn(3, 6, dtype=torch.float64), torch.tensor([1, 0, 1])
    fast = dec(z, y)
    assert fast.shape == (3, 2, 8, 4)
    torch.testing.assert_close(dec(z, y, fast=False), fast)


def test_mlp_generic_path_is_the_node_update_of_propagate():
    torch.manual_seed(0)
    mlp = MLP((7, 5, 3), act="tanh").double()
    x = torch.randn(4, 7, dtype=torch.float64)
    torch.testing.assert_close(mlp(x, fast=False), mlp(x))
    ref = mlp.layers[1](torch.tanh(mlp.layers[0](x)))
    torch.testing.assert_close(mlp(x), ref)


def test_label_changes_the_output_and_is_required():
    torch.manual_seed(0)
    dec = GridDecoder(4, (4, 4), 1, channels=(3,), num_classes=2)
    z = torch.randn(2, 4)
    assert not torch.allclose(dec(z, torch.tensor([0, 0])), dec(z, torch.tensor([1, 1])))
    with pytest.raises(ValueError, match="pass labels y of shape"):
        dec(z)


def test_bad_sizes_are_refused():
    assert check_image_size((28, 28), 2) == (7, 7)
    with pytest.raises(ValueError, match=r"image_size=\(28, 28\) cannot be halved 3 times"):
        GridEncoder((28, 28), 1, 4, channels=(8, 8, 8))
    with pytest.raises(ValueError, match="multiples of 4"):
        GridDecoder(4, (30, 28), 1, channels=(8, 8))
    dec = GridDecoder(4, (4, 4), 1, channels=(3,))
    with pytest.raises(ValueError, match="in_features=4"):
        dec(torch.randn(2, 5))
    enc = GridEncoder((4, 4), 1, 2, channels=(3,))
    with pytest.raises(ValueError, match=r"built for image_size=\(4, 4\)"):
        enc(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="at least the input and output"):
        MLP((3,))

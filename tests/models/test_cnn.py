import pytest
import torch
from torch import nn

from geodl.graph import grid_graph
from geodl.models.cnn import CNN, CNNConfig, UNet, from_images, to_images

TOL = {"rtol": 0.0, "atol": 1e-10}


def torch_cnn(model: CNN) -> nn.Sequential:
    """The same CNN written with nn.Conv2d, its weights copied from ``model``."""
    c = model.config
    layers, width = [], c.in_channels
    convs = iter(zip(model.convs, model.norms))
    for out in c.channels:
        for _ in range(c.convs_per_stage):
            conv, norm = next(convs)
            ref = nn.Conv2d(width, out, c.kernel_size, padding="same", bias=conv.bias is not None)
            ref.load_state_dict(conv.state_dict())
            bn = nn.BatchNorm2d(out)
            bn.load_state_dict(norm.state_dict())
            layers += [ref, bn, nn.ReLU()]
            width = out
        layers.append(nn.MaxPool2d(2))
    hidden = nn.Linear(model.hidden.in_features, c.hidden)
    h, w = c.image_size[0] // 2 ** len(c.channels), c.image_size[1] // 2 ** len(c.channels)
    with torch.no_grad():  # geodl flattens (H, W, C), nn.Flatten (C, H, W)
        hidden.weight.copy_(model.hidden.weight.view(-1, h, w, width).permute(0, 3, 1, 2)
                            .reshape(c.hidden, -1))
        hidden.bias.copy_(model.hidden.bias)
    out = nn.Linear(c.hidden, c.num_classes)
    out.load_state_dict(model.out.state_dict())
    return nn.Sequential(*layers, nn.Flatten(), hidden, nn.ReLU(), out).double()


@pytest.mark.parametrize("train", [True, False])
def test_cnn_equals_the_same_network_in_torch(train):
    model = CNN(CNNConfig(channels=(4, 6), convs_per_stage=2, image_size=(8, 12),
                          hidden=5)).double()
    ref = torch_cnn(model)
    model.train(train), ref.train(train)
    images = torch.randn(3, 1, 8, 12, dtype=torch.float64)
    torch.testing.assert_close(model(images), ref(images), **TOL)
    if train:  # the batch statistics were updated identically
        torch.testing.assert_close(model.norms[0].running_var, ref[1].running_var, **TOL)


@pytest.mark.parametrize("head", ["flatten", "mean", "max"])
def test_cnn_fast_and_generic_paths_agree(head):
    model = CNN(CNNConfig(in_channels=2, num_classes=3, channels=(4,), head=head, pool="mean",
                          image_size=(4, 6), norm=None, dropout=0.2)).double().eval()
    x, g = from_images(torch.randn(2, 2, 4, 6, dtype=torch.float64))
    torch.testing.assert_close(model(x, g), model(x, g, fast=False), **TOL)


def test_cnn_config_errors():
    with pytest.raises(ValueError, match="needs image_size"):
        CNNConfig(image_size=None)
    with pytest.raises(ValueError, match="pool='min' is not a valid option"):
        CNNConfig(pool="min")
    with pytest.raises(ValueError, match=r"too small for 3 poolings of \(2, 2\)"):
        CNN(CNNConfig(channels=(2, 2, 2), image_size=(4, 4)))


@pytest.mark.parametrize("up", ["transpose", "nearest"])
def test_unet_shapes_and_paths(up):
    model = UNet(2, 3, channels=(4, 6, 8), up=up).double().eval()
    x, g = from_images(torch.randn(2, 2, 8, 4, dtype=torch.float64))
    out, g_out = model(x, g)
    assert out.shape == (2 * 8 * 4, 3) and g_out.structure == g.structure
    torch.testing.assert_close(out, model(x, g, fast=False)[0], **TOL)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unet_needs_a_divisible_grid():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet(1, 1, channels=(2, 2, 2))(torch.randn(36, 1), grid_graph(6, 6))


def test_images_round_trip():
    images = torch.randn(2, 3, 4, 5)
    x, g = from_images(images)
    assert torch.equal(to_images(x, g), images)
    x1, _ = from_images(images[:, 0])
    assert torch.equal(x1.view(-1), images[:, 0].reshape(-1))


def test_cnn_on_a_one_row_grid_is_a_1d_cnn():
    config = CNNConfig(channels=(3, 4), kernel_size=(1, 5), pool_size=(1, 2), image_size=(1, 12),
                       norm=None, hidden=6)
    model = CNN(config).double()
    signals = torch.randn(2, 1, 12, dtype=torch.float64)  # (B, C, T)
    ref = torch.nn.Sequential(torch.nn.Conv1d(1, 3, 5, padding=2), torch.nn.ReLU(),
                              torch.nn.MaxPool1d(2), torch.nn.Conv1d(3, 4, 5, padding=2),
                              torch.nn.ReLU(), torch.nn.MaxPool1d(2)).double()
    for i, conv in zip((0, 3), model.convs):
        ref[i].weight.data.copy_(conv.weight[:, :, 0])
        ref[i].bias.data.copy_(conv.bias)
    features = ref(signals).transpose(1, 2).reshape(2, -1)  # (B, T/4 * C), node-major
    expected = model.out(torch.relu(model.hidden(features)))
    torch.testing.assert_close(model(signals.unsqueeze(2)), expected, **TOL)


def test_flatten_head_names_a_wrong_image_size():
    model = CNN(CNNConfig(channels=(4,), image_size=(6, 6), hidden=8))
    with pytest.raises(ValueError, match="image_size=\\(6, 6\\)"):
        model(torch.randn(2, 1, 8, 8))

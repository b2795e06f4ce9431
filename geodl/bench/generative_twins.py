"""Plain-torch twins of the generative models' stacks: ``nn.Conv2d``, ``nn.ConvTranspose2d``,
``nn.Linear`` and ``nn.BatchNorm2d`` on NCHW tensors, as one would write them without geodl.

:func:`torch_twin` deep-copies a geodl :class:`~geodl.models.Autoencoder`,
:class:`~geodl.models.VAE` or :class:`~geodl.models.GAN` and swaps every
:class:`~geodl.models.GridEncoder`, :class:`~geodl.models.GridDecoder` and
:class:`~geodl.models.MLP` for its twin here, with the *same weights*: the convolution weights
have ``nn.Conv2d``'s layouts already; the dense heads read and write NCHW order ``(c, h, w)``
where geodl's read each image's nodes ``(h, w, c)``, so their rows or columns are permuted
once at copy time. What stays shared is the code around the stacks (the reparameterisation,
``tanh``, the losses of :mod:`geodl.tasks`), so the measured difference is the layers alone.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.models.grid_coders import ACTIVATIONS, MLP, GridDecoder, GridEncoder

__all__ = ["TorchEncoder", "TorchDecoder", "TorchMLP", "torch_twin"]


def _onehot_cat(h: Tensor, y: Tensor | None, num_classes: int) -> Tensor:
    if num_classes == 0:
        return h
    return torch.cat([h, F.one_hot(y, num_classes).to(h.dtype)], 1)


def _bn2d(bn: nn.Module) -> nn.Module:
    if not isinstance(bn, nn.BatchNorm1d):
        return nn.Identity()
    out = nn.BatchNorm2d(bn.num_features, bn.eps, bn.momentum)
    out.load_state_dict(bn.state_dict())
    return out


class TorchEncoder(nn.Module):
    """``[nn.Conv2d(4, stride 2, pad 1) -> BatchNorm2d -> act] x L -> flatten -> nn.Linear``."""

    def __init__(self, enc: GridEncoder):
        super().__init__()
        self.act, self.num_classes = enc.act, enc.num_classes
        self.convs = nn.ModuleList()
        for conv in enc.convs:
            c = nn.Conv2d(conv.in_channels, conv.out_channels, 4, 2, 1,
                          bias=conv.bias is not None)
            c.load_state_dict(conv.state_dict())
            self.convs.append(c)
        self.norms = nn.ModuleList(_bn2d(n) for n in enc.norms)
        c_last = enc.convs[-1].out_channels
        f, n_in = enc.head.weight.shape
        pixels = (n_in - enc.num_classes) // c_last
        self.head = nn.Linear(n_in, f)
        with torch.no_grad():  # geodl's columns are (h, w, c); NCHW flatten is (c, h, w)
            w = enc.head.weight
            body = w[:, :pixels * c_last].reshape(f, pixels, c_last).transpose(1, 2)
            self.head.weight.copy_(torch.cat([body.reshape(f, -1), w[:, pixels * c_last:]], 1))
            self.head.bias.copy_(enc.head.bias)

    def forward(self, images: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        h = images
        for conv, norm in zip(self.convs, self.norms):
            h = ACTIVATIONS[self.act](norm(conv(h)))  # (B, C_l, H_l, W_l)
        return self.head(_onehot_cat(h.flatten(1), y, self.num_classes))


class TorchDecoder(nn.Module):
    """``nn.Linear -> view (B, C_0, h, w) -> [BatchNorm2d -> act -> nn.ConvTranspose2d] x L``."""

    def __init__(self, dec: GridDecoder):
        super().__init__()
        self.act, self.num_classes, self.coarse = dec.act, dec.num_classes, dec.coarse
        self.c0 = dec.ups[0].in_channels
        self.head = nn.Linear(dec.head.in_features, dec.head.out_features)
        h, w = dec.coarse
        with torch.no_grad():  # geodl's rows are (h, w, c); the NCHW view wants (c, h, w)
            n_in = dec.head.in_features
            self.head.weight.copy_(dec.head.weight.reshape(h * w, self.c0, n_in).transpose(0, 1)
                                   .reshape(-1, n_in))
            self.head.bias.copy_(dec.head.bias.reshape(h * w, self.c0).T.reshape(-1))
        self.ups = nn.ModuleList()
        for up in dec.ups:
            t = nn.ConvTranspose2d(up.in_channels, up.out_channels, 4, 2, 1,
                                   bias=up.bias is not None)
            t.load_state_dict(up.state_dict())
            self.ups.append(t)
        self.norms = nn.ModuleList(_bn2d(n) for n in dec.norms)

    def forward(self, z: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        h, w = self.coarse
        x = self.head(_onehot_cat(z, y, self.num_classes)).view(z.size(0), self.c0, h, w)
        for norm, up in zip(self.norms, self.ups):
            x = up(ACTIVATIONS[self.act](norm(x)))  # (B, C, 2h, 2w)
        return x


class TorchMLP(nn.Module):
    """``nn.Sequential``-style Linear / activation stack with the geodl MLP's weights."""

    def __init__(self, mlp: MLP):
        super().__init__()
        self.act, self.layers = mlp.act, copy.deepcopy(mlp.layers)

    def forward(self, x: Tensor, *, fast: bool = True) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = ACTIVATIONS[self.act](x)
        return x


_TWINS = {GridEncoder: TorchEncoder, GridDecoder: TorchDecoder, MLP: TorchMLP}


def torch_twin(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose grid stacks and MLPs are plain torch, same weights."""
    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules()):
        make = _TWINS.get(type(module))
        if make is None or not name:
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = twin.get_submodule(parent_name) if parent_name else twin
        setattr(parent, attr, make(module))
    return twin

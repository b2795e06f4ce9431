import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from geodl.tasks.text import mask_tokens, pad_sequences, sample_blocks

PAD, MASK, CLS = 0, 1, 2


def test_mask_statistics_match_bert():
    """15% of maskable positions chosen; of those 80% [MASK], 10% random, 10% kept."""
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(3, 50, (400, 500), generator=gen)
    tokens[:, 0] = CLS
    padding = torch.zeros_like(tokens, dtype=torch.bool)
    padding[:, 400:] = True
    inputs, labels = mask_tokens(tokens, MASK, 50, special_ids=[PAD, CLS], padding_mask=padding,
                                 generator=gen)
    chosen = labels != -100
    maskable = ~padding
    maskable[:, 0] = False
    n = int(chosen.sum())
    # binomial standard errors: 15% of 159,600 -> sd 0.0009; the 80/10/10 split: sd <= 0.003
    assert abs(n / int(maskable.sum()) - 0.15) < 0.005
    assert not chosen[~maskable].any()
    assert (labels[chosen] == tokens[chosen]).all()
    assert (inputs[~chosen] == tokens[~chosen]).all()
    masked = inputs[chosen] == MASK
    same = inputs[chosen] == tokens[chosen]
    random = ~masked & ~same
    assert abs(masked.float().mean().item() - 0.8) < 0.01
    # a random draw equals the original token 1 time in 47: kept ~ 0.1 + 0.1 / 47
    assert abs(same.float().mean().item() - (0.1 + 0.1 / 47)) < 0.01
    assert abs(random.float().mean().item() - 0.1 * 46 / 47) < 0.01
    # random replacements are never special tokens
    assert not torch.isin(inputs[chosen & (inputs != MASK)], torch.tensor([PAD, CLS])).any()


def test_mask_reproducible_and_checked():
    tokens = torch.randint(3, 20, (4, 30))
    a = mask_tokens(tokens, MASK, 20, generator=torch.Generator().manual_seed(1))
    b = mask_tokens(tokens, MASK, 20, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    with pytest.raises(ValueError, match="prob"):
        mask_tokens(tokens, MASK, 20, prob=1.5)
    with pytest.raises(ValueError, match="special"):
        mask_tokens(tokens, 0, 2, special_ids=[1])


@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(1, 12))
def test_pad_sequences(lengths, max_len):
    seqs = [torch.arange(3, 3 + n) for n in lengths]
    x, pad = pad_sequences(seqs, PAD, max_len)
    assert x.shape == pad.shape == (len(seqs), min(max_len, max(lengths)))
    for row, p, n in zip(x, pad, lengths):
        k = min(n, max_len)
        assert torch.equal(row[:k], torch.arange(3, 3 + k))
        assert (row[k:] == PAD).all() and p.sum() == x.size(1) - k


def test_sample_blocks():
    data = torch.arange(100)
    x, y = sample_blocks(data, 8, 16, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (16, 8)
    assert torch.equal(y, x + 1) and torch.equal(x[:, 1:], x[:, :-1] + 1)
    with pytest.raises(ValueError, match="block_size=100"):
        sample_blocks(data, 100, 2)


def test_pad_sequences_stays_on_the_input_device_meta():
    """meta (shapes only): a mask built on the CPU would meet meta tensors and raise."""
    out, padding = pad_sequences([torch.zeros(3, dtype=torch.long, device="meta"),
                                  torch.zeros(1, dtype=torch.long, device="meta")], pad_id=0)
    assert out.device.type == padding.device.type == "meta"
    assert out.shape == padding.shape == (2, 3)

"""Text tasks' data preparation: language-model blocks, padded batches and BERT's MLM masking.

- :func:`sample_blocks`: nanoGPT's ``get_batch``: random windows of a token stream and the
  same windows shifted by one (next-token targets).
- :func:`pad_sequences`: a list of 1-D token tensors to one ``(B, T)`` batch and its padding
  mask (``True`` = padding, the convention of ``key_padding_mask``).
- :func:`mask_tokens`: masked-language-model corruption (Devlin et al. 2019,
  https://arxiv.org/abs/1810.04805, section 3.1): choose 15% of the maskable positions; of
  those, 80% become ``[MASK]``, 10% a random token, 10% stay; the loss sees only the chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from geodl.graph.validation import check_positive_int

__all__ = ["sample_blocks", "pad_sequences", "mask_tokens"]


def sample_blocks(data: Tensor, block_size: int, batch_size: int, *,
                  generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """``batch_size`` random windows of ``data`` and their next-token targets.

    >>> x, y = sample_blocks(torch.arange(10), 4, 2, generator=torch.Generator().manual_seed(0))
    >>> bool((y == x + 1).all()), tuple(x.shape)
    (True, (2, 4))

    Shapes:
        data ``(L,)``; x, y ``(batch_size, block_size)``.
    """
    block_size = check_positive_int(block_size, "block_size")
    check_positive_int(batch_size, "batch_size")
    if data.dim() != 1 or data.numel() <= block_size:
        raise ValueError(f"data must be a 1-D token stream longer than block_size={block_size}, "
                         f"got shape {tuple(data.shape)}.")
    start = torch.randint(data.numel() - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[start[:, None] + offsets]  # (B, T)
    y = data[start[:, None] + offsets + 1]  # (B, T)
    return x, y


def pad_sequences(seqs: Sequence[Tensor], pad_id: int, max_len: int | None = None
                  ) -> tuple[Tensor, Tensor]:
    """Right-pad (and truncate to ``max_len``) 1-D token tensors into a batch.

    >>> x, pad = pad_sequences([torch.tensor([5, 6, 7]), torch.tensor([8])], pad_id=0)
    >>> x.tolist(), pad.tolist()
    ([[5, 6, 7], [8, 0, 0]], [[False, False, False], [False, True, True]])

    Shapes:
        out ``(B, T)`` long with ``T = min(max_len, longest)``; padding mask ``(B, T)`` bool.
    """
    if not seqs:
        raise ValueError("seqs is empty: pad_sequences needs at least one sequence.")
    seqs = [s[:max_len] if max_len is not None else s for s in seqs]
    out = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad_id)
    lengths = torch.tensor([s.numel() for s in seqs], device=out.device)
    padding = torch.arange(out.size(1), device=out.device)[None, :] >= lengths[:, None]  # (B, T)
    return out, padding


def mask_tokens(tokens: Tensor, mask_id: int, vocab_size: int, *, prob: float = 0.15,
                special_ids: Sequence[int] = (), padding_mask: Tensor | None = None,
                ignore_index: int = -100, generator: torch.Generator | None = None
                ) -> tuple[Tensor, Tensor]:
    """BERT's masked-language-model corruption of a batch of token ids.

    Every position that is neither padding nor a special token is chosen with probability
    ``prob``; a chosen position becomes ``mask_id`` with probability 0.8, a uniformly random
    non-special token with probability 0.1, and keeps its token otherwise. ``labels`` hold the
    original token at chosen positions and ``ignore_index`` elsewhere, so
    ``F.cross_entropy(logits.flatten(0, 1), labels.flatten())`` scores only the chosen ones.

    Args:
        tokens: the clean token ids.
        mask_id: id of ``[MASK]``.
        vocab_size: number of token ids; random replacements are drawn from
            ``range(vocab_size)`` minus ``special_ids``.
        prob: the masking rate (BERT: 0.15).
        special_ids: ids never chosen nor drawn as replacements (``[PAD]``, ``[CLS]``, ...).
        padding_mask: ``True`` where ``tokens`` is padding (never chosen).
        ignore_index: the label of unchosen positions.
        generator: random source, for reproducible masks.

    Returns:
        ``(inputs, labels)``, both shaped like ``tokens``.

    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = mask_tokens(torch.full((2, 50), 7), mask_id=1, vocab_size=10, generator=g)
    >>> bool(((y == -100) | (y == 7)).all()), bool((x[y == -100] == 7).all())
    (True, True)
    """
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], got {prob}.")
    check_positive_int(vocab_size, "vocab_size")
    device = tokens.device
    special = torch.tensor(sorted(set(int(i) for i in special_ids) | {int(mask_id)}),
                           dtype=torch.long, device=device)
    allowed = torch.ones(vocab_size, dtype=torch.bool, device=device)
    allowed[special[special < vocab_size]] = False
    candidates = allowed.nonzero().flatten()  # (V',) ids a random replacement may take
    if candidates.numel() == 0:
        raise ValueError(f"every id of vocab_size={vocab_size} is special; nothing to draw "
                         f"random replacements from.")
    maskable = ~torch.isin(tokens, special)
    if padding_mask is not None:
        maskable &= ~padding_mask
    # drawn on the generator's device (CPU by default), then moved: same numbers on any device
    u = torch.rand(tokens.shape + (2,), generator=generator).to(device)  # (..., 2)
    chosen = maskable & (u[..., 0] < prob)
    to_mask = chosen & (u[..., 1] < 0.8)
    to_random = chosen & (u[..., 1] >= 0.8) & (u[..., 1] < 0.9)
    draws = torch.randint(candidates.numel(), tokens.shape, generator=generator).to(device)
    inputs = tokens.clone()
    inputs[to_mask] = mask_id
    inputs[to_random] = candidates[draws[to_random]]
    labels = torch.where(chosen, tokens, torch.full_like(tokens, ignore_index))
    return inputs, labels

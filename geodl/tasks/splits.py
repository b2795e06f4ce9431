"""Data splits: random, stratified k-fold, Bemis-Murcko scaffold, and Planetoid-style masks.

Every split returns ``LongTensor`` index sets that are disjoint; the same ``seed`` gives the same
split. :func:`scaffold_split` is deterministic with no seed at all (DeepChem's convention).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["random_split", "stratified_kfold", "scaffold_split", "murcko_scaffold",
           "index_to_mask", "mask_to_index", "per_class_split"]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _check_fractions(fractions: Sequence[float]) -> None:
    if any(f < 0 for f in fractions) or sum(fractions) > 1 + 1e-9:
        raise ValueError(f"fractions={tuple(fractions)} must be non-negative and sum to at most "
                         "1, e.g. (0.8, 0.1, 0.1).")


def random_split(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 seed: int = 0) -> tuple[Tensor, ...]:
    """Shuffle ``range(n)`` and cut it into one index set per fraction.

    Set ``i`` ends at ``round(n * sum(fractions[:i+1]))``, so fractions summing to 1 cover
    every index.

    Example:
        >>> [len(s) for s in random_split(10, (0.8, 0.1, 0.1))]
        [8, 1, 1]
    """
    _check_fractions(fractions)
    perm = torch.randperm(n, generator=_generator(seed))
    bounds, total = [0], 0.0
    for f in fractions:
        total += f
        bounds.append(min(n, round(n * total)))
    return tuple(perm[a:b] for a, b in zip(bounds[:-1], bounds[1:]))


def stratified_kfold(y: Tensor, k: int = 5, seed: int = 0,
                     validation: bool = True) -> list[tuple[Tensor, Tensor, Tensor]]:
    """``k`` stratified folds as ``(train, val, test)`` index triples.

    Each class's shuffled members are dealt round-robin over the folds (continuing where the
    previous class stopped), so every fold holds ``~1/k`` of each class and fold sizes differ by
    at most one. Fold ``i`` is the test set; with ``validation`` fold ``(i + 1) % k`` is the
    validation set, taken from the training part, else ``val`` is empty.

    Example:
        >>> y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        >>> train, val, test = stratified_kfold(y, k=4)[0]
        >>> len(train), y[val].tolist(), sorted(y[test].tolist())
        (4, [0, 1], [0, 1])
    """
    y = torch.as_tensor(y).reshape(-1)
    if not 2 <= k <= y.numel():
        raise ValueError(f"k={k} folds need 2 <= k <= number of samples ({y.numel()}).")
    g = _generator(seed)
    fold = torch.empty(y.numel(), dtype=torch.long, device=y.device)
    start = 0
    for c in torch.unique(y):
        members = (y == c).nonzero().view(-1)
        members = members[torch.randperm(members.numel(), generator=g)]
        fold[members] = (torch.arange(members.numel(), device=y.device) + start) % k
        start = (start + members.numel()) % k
    folds = []
    for i in range(k):
        test = (fold == i).nonzero().view(-1)
        val_id = (i + 1) % k if validation else -1
        val = (fold == val_id).nonzero().view(-1)
        train = ((fold != i) & (fold != val_id)).nonzero().view(-1)
        folds.append((train, val, test))
    return folds


def murcko_scaffold(smiles: str, include_chirality: bool = False) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold (ring systems + linkers) of a molecule.

    Example:
        >>> murcko_scaffold("CCOc1ccccc1")
        'c1ccccc1'
    """
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}; drop or fix that molecule "
                         "before splitting.")
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)


def scaffold_split(smiles: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                   include_chirality: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Split molecules so that no Bemis-Murcko scaffold is in two sets (DeepChem's way).

    Molecules are grouped by scaffold; groups go in order of decreasing size (ties: the group
    whose first molecule comes later goes first, as DeepChem sorts) to train while train stays
    within ``fractions[0] * n``, else to validation while train + val stay within
    ``(fractions[0] + fractions[1]) * n``, else to test. Acyclic molecules share the empty
    scaffold ``""``, usually the largest group.

    Example:
        >>> smi = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "C1CCCCC1O", "CCO"]
        >>> [s.tolist() for s in scaffold_split(smi, (0.6, 0.2, 0.2))]
        [[0, 1, 2], [4], [3]]
    """
    if len(fractions) != 3:
        raise ValueError(f"fractions={tuple(fractions)} must be (train, val, test).")
    _check_fractions(fractions)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(smiles):
        groups.setdefault(murcko_scaffold(s, include_chirality), []).append(i)
    ordered = sorted(groups.values(), key=lambda idx: (len(idx), idx[0]), reverse=True)
    n = len(smiles)
    train_cut, val_cut = fractions[0] * n, (fractions[0] + fractions[1]) * n
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for idx in ordered:
        if len(train) + len(idx) <= train_cut:
            train += idx
        elif len(train) + len(val) + len(idx) <= val_cut:
            val += idx
        else:
            test += idx
    return tuple(torch.tensor(sorted(s), dtype=torch.long) for s in (train, val, test))


def index_to_mask(index: Tensor, size: int) -> Tensor:
    """Boolean mask ``(size,)`` that is true at ``index``.

    Example:
        >>> index_to_mask(torch.tensor([0, 2]), 4).tolist()
        [True, False, True, False]
    """
    mask = torch.zeros(size, dtype=torch.bool, device=index.device)
    mask[index] = True
    return mask


def mask_to_index(mask: Tensor) -> Tensor:
    """Indices where ``mask`` is true."""
    return mask.nonzero().view(-1)


def per_class_split(y: Tensor, num_train_per_class: int = 20, num_val: int = 500,
                    num_test: int = 1000, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Planetoid-style random masks: ``num_train_per_class`` nodes of each class for training,
    then ``num_val`` and ``num_test`` of the rest (fewer if the rest is smaller). A class with
    fewer than ``num_train_per_class`` nodes is an error.

    Returns:
        ``(train_mask, val_mask, test_mask)``, boolean ``(N,)`` each, disjoint.

    Example:
        >>> y = torch.tensor([0, 0, 0, 1, 1, 1])
        >>> [int(m.sum()) for m in per_class_split(y, 1, num_val=2, num_test=2)]
        [2, 2, 2]
    """
    from geodl.graph.validation import check_positive_int

    num_train_per_class = check_positive_int(num_train_per_class, "num_train_per_class")
    num_val = check_positive_int(num_val, "num_val", minimum=0)
    num_test = check_positive_int(num_test, "num_test", minimum=0)
    y = torch.as_tensor(y).reshape(-1)
    n, g = y.numel(), _generator(seed)
    train = []
    for c in torch.unique(y):
        members = (y == c).nonzero().view(-1)
        if members.numel() < num_train_per_class:
            raise ValueError(f"num_train_per_class={num_train_per_class}, but class "
                             f"{c.item()} has only {members.numel()} node(s); pass "
                             f"num_train_per_class={members.numel()} or less.")
        train.append(members[torch.randperm(members.numel(), generator=g)[:num_train_per_class]])
    train_mask = index_to_mask(torch.cat(train), n)
    rest = mask_to_index(~train_mask)
    rest = rest[torch.randperm(rest.numel(), generator=g)]
    val_mask = index_to_mask(rest[:num_val], n)
    test_mask = index_to_mask(rest[num_val:num_val + num_test], n)
    return train_mask, val_mask, test_mask

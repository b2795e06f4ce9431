"""Splits: disjoint and covering, deterministic, stratified, scaffold-separated."""

import pytest
import torch

from geodl.tasks import splits as S


def assert_partition(sets, n):
    allidx = torch.cat(list(sets))
    assert allidx.numel() == n and torch.equal(allidx.sort().values, torch.arange(n))


def test_random_split_disjoint_covering_deterministic():
    a = S.random_split(103, (0.7, 0.2, 0.1), seed=3)
    assert [len(s) for s in a] == [72, 21, 10]
    assert_partition(a, 103)
    b = S.random_split(103, (0.7, 0.2, 0.1), seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    c = S.random_split(103, (0.7, 0.2, 0.1), seed=4)
    assert not torch.equal(a[0], c[0])
    assert sum(len(s) for s in S.random_split(10, (0.5, 0.2))) == 7
    with pytest.raises(ValueError, match="sum to at most 1"):
        S.random_split(10, (0.8, 0.3))


def test_stratified_kfold():
    g = torch.Generator().manual_seed(0)
    y = torch.cat([torch.zeros(60), torch.ones(30), torch.full((11,), 2.0)]).long()
    y = y[torch.randperm(y.numel(), generator=g)]
    folds = S.stratified_kfold(y, k=5, seed=1)
    assert len(folds) == 5
    assert_partition([f[2] for f in folds], y.numel())  # test folds partition the data
    global_frac = torch.bincount(y).double() / y.numel()
    for train, val, test in folds:
        assert_partition([train, val, test], y.numel())
        assert abs(len(test) - y.numel() / 5) <= 1
        for part in (test, val):
            counts = torch.bincount(y[part], minlength=3).double()
            # each class: floor or ceil of its share, so proportions within 1/|part|
            expected = torch.bincount(y, minlength=3).double() / 5
            assert ((counts - expected).abs() <= 1).all()
            assert ((counts / len(part) - global_frac).abs() <= 1.0 / len(part) + 1e-9).all()
    again = S.stratified_kfold(y, k=5, seed=1)
    assert all(torch.equal(a, b) for f, h in zip(folds, again) for a, b in zip(f, h))
    no_val = S.stratified_kfold(y, k=5, seed=1, validation=False)
    assert all(len(v) == 0 and len(tr) + len(te) == y.numel() for tr, v, te in no_val)


def test_per_class_split_and_masks():
    y = torch.tensor([0] * 30 + [1] * 30 + [2] * 30)
    tr, va, te = S.per_class_split(y, 5, num_val=20, num_test=40, seed=0)
    assert torch.bincount(y[tr]).tolist() == [5, 5, 5]
    assert (int(va.sum()), int(te.sum())) == (20, 40)
    assert not (tr & va).any() and not (tr & te).any() and not (va & te).any()
    idx = torch.tensor([3, 1])
    assert torch.equal(S.mask_to_index(S.index_to_mask(idx, 5)), torch.tensor([1, 3]))


def test_scaffold_split_on_esol(shared_root):
    from geodl.datasets import load_moleculenet

    ds = load_moleculenet("esol", root=shared_root("esol"))
    smiles = [g.smiles for g in ds]
    sets = S.scaffold_split(smiles, (0.8, 0.1, 0.1))
    assert_partition(sets, len(smiles))
    n = len(smiles)
    assert len(sets[0]) <= 0.8 * n and len(sets[0]) + len(sets[1]) <= 0.9 * n
    assert len(sets[0]) > 0.7 * n and len(sets[1]) > 0 and len(sets[2]) > 0
    scaffolds = [{S.murcko_scaffold(smiles[i]) for i in s.tolist()} for s in sets]
    assert not (scaffolds[0] & scaffolds[1] or scaffolds[0] & scaffolds[2]
                or scaffolds[1] & scaffolds[2])
    # largest groups first: the biggest scaffold group (acyclic molecules, "") is in train
    assert "" in scaffolds[0]
    again = S.scaffold_split(smiles, (0.8, 0.1, 0.1))
    assert all(torch.equal(a, b) for a, b in zip(sets, again))


def test_scaffold_split_deepchem_order():
    smi = ["c1ccccc1O", "C1CCCCC1O", "c1ccccc1N", "CCO", "c1ccncc1C", "c1ccncc1"]
    # groups: benzene {0, 2} (2), cyclohexane {1}, "" {3}, pyridine {4, 5} (2)
    # order: (2, 4) pyridine, (2, 0) benzene, (1, 3) "", (1, 1) cyclohexane; cut-offs 3, 4.5:
    # pyridine -> train (2 <= 3), benzene -> val (4 > 3, 4 <= 4.5), "" -> train (3 <= 3),
    # cyclohexane -> test (4 > 3, 5 > 4.5): later, smaller groups still fill train
    train, val, test = S.scaffold_split(smi, (0.5, 0.25, 0.25))
    assert (train.tolist(), val.tolist(), test.tolist()) == ([3, 4, 5], [0, 2], [1])
    with pytest.raises(ValueError, match="cannot parse"):
        S.scaffold_split(["C1CC"], (1.0, 0.0, 0.0))


def test_masks_and_folds_stay_on_the_input_device_meta():
    """The mask is created on the index's device (meta: shapes only, no CPU copy)."""
    mask = S.index_to_mask(torch.tensor([0, 2], device="meta"), 4)
    assert mask.device.type == "meta" and mask.shape == (4,)

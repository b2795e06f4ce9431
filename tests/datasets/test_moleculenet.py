import csv
import math

import pytest
import torch

from geodl.datasets import MOLECULENET, MoleculeDataset, load_moleculenet
from geodl.graph import Graph

# name: (CSV data rows, rows RDKit parses, tasks), from shared/data/<name>/SOURCE.md
OFFICIAL = {
    "esol": (1128, 1128, 1),
    "freesolv": (642, 642, 1),
    "lipo": (4200, 4200, 1),
    "bace": (1513, 1513, 1),
    "bbbp": (2050, 2039, 1),
    "tox21": (7831, 7823, 12),
    "clintox": (1484, 1480, 2),
    "sider": (1427, 1427, 27),
    "hiv": (41127, 41120, 1),
}
# Small enough to parse whole in the default run (about 10 s together).
FAST = ["esol", "freesolv", "bace", "bbbp", "clintox", "sider"]
LARGE = ["lipo", "tox21", "hiv"]

# Class balance of single-task sets where every row parses (SOURCE.md).
CLASS_COUNTS = {"bace": [822, 691]}

# First data row of each CSV, read by eye from the file: (SMILES, targets).
nan = float("nan")
FIRST_ROW = {
    "esol": ("OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O", [-0.77]),
    "freesolv": ("CN(C)C(=O)c1ccc(cc1)OC", [-11.01]),
    "lipo": ("Cn1c(CN2CCN(CC2)c3ccc(Cl)cc3)nc4ccccc14", [3.54]),
    "bace": ("O1CC[C@@H](NC(=O)[C@@H](Cc2cc3cc(ccc3nc2N)-c2ccccc2C)C)CC1(C)C", [1.0]),
    "bbbp": ("[Cl].CC(C)NCC(O)COc1cccc2ccccc12", [1.0]),
    "tox21": ("CCOc1ccc2nc(S(N)(=O)=O)sc2c1", [0, 0, 1, nan, nan, 0, 0, 1, 0, 0, 0, 0]),
    "clintox": ("*C(=O)[C@H](CCCCNC(=O)OCCOC)NC(=O)OCCOC", [1.0, 0.0]),
    "sider": ("C(CNCCNCCNCCN)N", [float(v) for v in
                                 "110011100001000010011001110"]),
    "hiv": ("CCC1=[O+][Cu-3]2([O+]=C(CC)C1)[O+]=C(CC)CC(CC)=[O+]2", [0.0]),
}


def _csv_rows(path):
    """Data rows of a CSV, blank lines dropped (HIV.csv has one after every row)."""
    with open(path, newline="", encoding="utf-8") as f:
        return [row for row in csv.reader(f) if row][1:]


def _same(a, b):
    return len(a) == len(b) and all(
        (math.isnan(u) and math.isnan(v)) or u == pytest.approx(v) for u, v in zip(a, b))


@pytest.mark.parametrize("name", FAST)
def test_counts_match_official(shared_data, name):
    rows, parsed, tasks = OFFICIAL[name]
    ds = load_moleculenet(name, root=shared_data(name))
    assert isinstance(ds, MoleculeDataset) and all(isinstance(g, Graph) for g in ds)
    assert ds.num_rows == rows and len(ds) == parsed
    assert len(ds.skipped) == rows - parsed
    assert len(ds.task_names) == tasks
    assert all(g.y.shape == (1, tasks) and g.y.dtype == torch.float for g in ds)
    assert all(g.x.shape[0] > 0 and g.x.shape[1] == 9 for g in ds)
    smiles, y = FIRST_ROW[name]
    assert ds[0].smiles == smiles and _same(ds[0].y[0].tolist(), y)
    if name in CLASS_COUNTS:
        labels = torch.cat([g.y for g in ds]).long().view(-1)
        assert labels.bincount().tolist() == CLASS_COUNTS[name]


@pytest.mark.parametrize("name", LARGE)
def test_large_sets_with_limit(shared_data, name):
    rows, _, tasks = OFFICIAL[name]
    spec = MOLECULENET[name]
    raw = _csv_rows(shared_data(name) / name / spec.csv)
    assert len(raw) == rows  # the raw row count, without parsing every molecule
    ds = load_moleculenet(name, root=shared_data(name), limit=200)
    assert ds.num_rows == 200 and len(ds) + len(ds.skipped) == 200
    assert len(ds.task_names) == tasks
    smiles, y = FIRST_ROW[name]
    assert ds[0].smiles == smiles and _same(ds[0].y[0].tolist(), y)
    # every target equals the CSV's, empty fields as NaN
    by_row = iter(r for i, r in enumerate(raw[:200]) if i not in {s.row for s in ds.skipped})
    for g in ds:
        values = next(by_row)[spec.targets]
        assert _same(g.y[0].tolist(), [float(v) if v else nan for v in values])


@pytest.mark.slow
@pytest.mark.parametrize("name", LARGE)
def test_large_sets_full(shared_data, name):
    rows, parsed, _ = OFFICIAL[name]
    ds = load_moleculenet(name, root=shared_data(name))
    assert ds.num_rows == rows and len(ds) == parsed


def test_task_names_and_missing_labels(shared_data):
    ds = load_moleculenet("tox21", root=shared_data("tox21"), limit=300)
    assert ds.task_names[:3] == ["NR-AR", "NR-AR-LBD", "NR-AhR"] and ds.task_names[-1] == "SR-p53"
    raw = _csv_rows(shared_data("tox21") / "tox21" / "tox21.csv")[:300]
    kept = [r for i, r in enumerate(raw) if i not in {s.row for s in ds.skipped}]
    empty = sum(v == "" for r in kept for v in r[:12])
    assert int(torch.cat([g.y for g in ds]).isnan().sum()) == empty > 0


def test_quoted_fields(shared_data):
    # FreeSolv's IUPAC names and SIDER's header contain quoted commas
    ds = load_moleculenet("sider", root=shared_data("sider"), limit=5)
    assert "Neoplasms benign, malignant and unspecified (incl cysts and polyps)" in ds.task_names
    assert len(ds.task_names) == 27


def test_skipped_rows_are_reported(shared_data):
    ds = load_moleculenet("bbbp", root=shared_data("bbbp"), limit=100)
    assert [s.row for s in ds.skipped] == [59, 61]
    assert all(s.smiles and "valence" in s.reason for s in ds.skipped)
    assert "2 skipped" in repr(ds)


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_moleculenet("tox21", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "tox21" / "raw" / "tox21.csv") in msg
    assert "tox21.csv.gz" in msg and "download=True" in msg


def test_unknown_name():
    with pytest.raises(ValueError, match="esol"):
        load_moleculenet("qm9")

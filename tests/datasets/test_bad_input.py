"""Corrupt raw files: every loader names the file, the counts that disagree and what to do,
instead of loading wrong graphs or ending in a pickle/parser traceback; nothing is written."""

import shutil

import pytest

from geodl.datasets import load_moleculenet, load_planetoid, load_tu
from tests.bad_input import assert_refused, case_id, files_under


def _drop_last_line(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def _halve(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


RAW = [  # (id, dataset, raw file, damage, words in the message)
    ("graph labels truncated", "MUTAG", "MUTAG_graph_labels.txt", _drop_last_line,
     ["187 lines", "188 graphs"]),
    ("A empty", "MUTAG", "MUTAG_A.txt", lambda p: p.write_text(""), ["MUTAG_A.txt", "is empty"]),
    ("node labels truncated", "MUTAG", "MUTAG_node_labels.txt", _drop_last_line,
     ["MUTAG_node_labels.txt", "3370 lines", "3371 nodes"]),
    ("edge labels truncated", "MUTAG", "MUTAG_edge_labels.txt", _drop_last_line,
     ["MUTAG_edge_labels.txt", "7441 lines", "7442 edges"]),
    ("indicator truncated", "MUTAG", "MUTAG_graph_indicator.txt", _drop_last_line,
     ["MUTAG_node_labels.txt"]),
    ("x truncated", "Cora", "ind.cora.x", _halve, ["ind.cora.x", "truncated or corrupt"]),
    ("graph truncated", "Cora", "ind.cora.graph", _halve, ["ind.cora.graph"]),
    ("ty empty", "Cora", "ind.cora.ty", lambda p: p.write_bytes(b""),
     ["ind.cora.ty", "is empty"]),
    ("test.index short", "Cora", "ind.cora.test.index", _drop_last_line,
     ["ind.cora.test.index", "999 rows", "1000"]),
    ("allx swapped for x", "Cora", "ind.cora.allx",
     lambda p: shutil.copy(p.with_name("ind.cora.x"), p), ["ind.cora.ally", "rows"]),
]
LOADERS = {"MUTAG": lambda root: load_tu("MUTAG", root=root),
           "Cora": lambda root: load_planetoid("Cora", root=root)}


@pytest.mark.parametrize("case", RAW, ids=case_id)
def test_tu_and_planetoid(case, shared_data, tmp_path):
    _, name, filename, damage, words = case
    shutil.copytree(shared_data(name) / name, tmp_path / name)
    damage(tmp_path / name / filename)
    before = files_under(tmp_path)
    assert_refused(lambda: LOADERS[name](tmp_path), ValueError, "re-download", *words)
    assert files_under(tmp_path) == before


def _esol(tmp_path, text):
    (tmp_path / "esol").mkdir()
    (tmp_path / "esol" / "delaney-processed.csv").write_text(text)
    return lambda: load_moleculenet("esol", root=tmp_path)


HEADER = ("Compound ID,ESOL predicted log solubility in mols per litre,Minimum Degree,"
          "Molecular Weight,Number of H-Bond Donors,Number of Rings,Number of Rotatable Bonds,"
          "Polar Surface Area,measured log solubility in mols per litre,smiles\n")
MOLECULENET = [
    ("empty csv", "", ["delaney-processed.csv", "is empty"]),
    ("short row", HEADER + "Amigdalin,-0.974,1,457.4,7,3,7,202.32,-0.77,OCC3OC(OCC2OC(OC(C#N)c1c"
     "cccc1)C(O)C(O)C2O)C(O)C(O)C3O \nBenzene,-1.6,2,78.1\n", ["line 3", "4 fields", "10"]),
    ("text target", HEADER + "Benzene,-1.6,2,78.1,0,1,0,0.0,high,c1ccccc1\n",
     ["line 2", "'high'"]),
]


@pytest.mark.parametrize("case", MOLECULENET, ids=case_id)
def test_moleculenet(case, tmp_path):
    _, text, words = case
    load = _esol(tmp_path, text)
    assert_refused(load, ValueError, "re-download", *words)
    assert files_under(tmp_path) == [tmp_path / "esol" / "delaney-processed.csv"]

"""MoleculeNet property-prediction sets, read from the CSV files DeepChem distributes.

Wu et al., "MoleculeNet: a benchmark for molecular machine learning", Chem. Sci. 2018
(https://arxiv.org/abs/1703.00564). The files, SMILES columns and target columns are those of
PyG's ``torch_geometric.datasets.MoleculeNet``; molecules become graphs through
:func:`geodl.graph.from_smiles` (OGB atom and bond features).
"""

from __future__ import annotations

import csv
import os
from typing import NamedTuple

import torch

from geodl.datasets._files import download_file, find_raw
from geodl.graph import from_smiles

__all__ = ["load_moleculenet", "MoleculeDataset", "SkippedMolecule", "MOLECULENET"]

URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets"


class _Spec(NamedTuple):
    csv: str  # raw file name
    url: str  # file name at URL (.gz ones are gunzipped into ``csv``)
    smiles: int  # SMILES column
    targets: slice  # target columns


#: name -> (csv file, download name, SMILES column, target columns), as in PyG's MoleculeNet.
MOLECULENET: dict[str, _Spec] = {
    "esol": _Spec("delaney-processed.csv", "delaney-processed.csv", -1, slice(-2, -1)),
    "freesolv": _Spec("SAMPL.csv", "SAMPL.csv", 1, slice(2, 3)),
    "lipo": _Spec("Lipophilicity.csv", "Lipophilicity.csv", 2, slice(1, 2)),
    "bace": _Spec("bace.csv", "bace.csv", 0, slice(2, 3)),
    "bbbp": _Spec("BBBP.csv", "BBBP.csv", -1, slice(-2, -1)),
    "hiv": _Spec("HIV.csv", "HIV.csv", 0, slice(-1, None)),
    "tox21": _Spec("tox21.csv", "tox21.csv.gz", -1, slice(0, 12)),
    "clintox": _Spec("clintox.csv", "clintox.csv.gz", 0, slice(1, 3)),
    "sider": _Spec("sider.csv", "sider.csv.gz", 0, slice(1, 28)),
}


class SkippedMolecule(NamedTuple):
    """A CSV row whose SMILES RDKit rejected: its 0-based data-row index, SMILES and reason."""

    row: int
    smiles: str
    reason: str


class MoleculeDataset(list):
    """A list of molecular :class:`~geodl.graph.Graph` objects plus what was left out.

    Attributes:
        name: the dataset name.
        task_names: the target column names, in the order of ``g.y``'s columns.
        skipped: one :class:`SkippedMolecule` per row RDKit could not parse.
        num_rows: data rows read from the CSV (``len(self) + len(self.skipped)``).
    """

    def __init__(self, graphs=(), *, name: str = "", task_names=(), skipped=(),
                 num_rows: int = 0):
        super().__init__(graphs)
        self.name = name
        self.task_names = list(task_names)
        self.skipped = list(skipped)
        self.num_rows = num_rows

    def __repr__(self) -> str:
        return (f"MoleculeDataset({self.name!r}, {len(self)} molecules, "
                f"{len(self.task_names)} tasks, {len(self.skipped)} skipped)")


def load_moleculenet(name: str, root: str | os.PathLike | None = None, download: bool = False,
                     limit: int | None = None) -> MoleculeDataset:
    """Load a MoleculeNet CSV as molecular graphs with graph-level targets.

    Args:
        name: one of ``esol``, ``freesolv``, ``lipo``, ``bace``, ``bbbp``, ``hiv``, ``tox21``,
            ``clintox``, ``sider`` (case-insensitive).
        root: folder holding ``<name>/raw/<file>.csv`` or ``<name>/<file>.csv``; default
            ``$GEODL_DATA`` or ``~/.cache/geodl``.
        download: fetch the CSV from DeepChem's bucket when it is missing.
        limit: read only the first ``limit`` data rows (blank lines do not count).

    Returns:
        a :class:`MoleculeDataset`: graphs from :func:`~geodl.graph.from_smiles` with
        ``y`` ``(1, T)`` float (``NaN`` = missing label in multi-task sets) and ``smiles``;
        rows RDKit cannot parse are in ``.skipped``, not in the list.

    Shapes:
        x ``(N, 9)``, edge_index ``(2, 2B)``, edge_attr ``(2B, 3)``, y ``(1, T)``; ``T`` = 1,
        except tox21 12, clintox 2, sider 27.

    Raises:
        ValueError: unknown ``name``.
        FileNotFoundError: the CSV is missing and ``download`` is false.
        ValueError: the CSV is empty, a row has the wrong number of fields or a non-numeric
            target (the message names the file and the line).
    """
    key = str(name).lower()
    if key not in MOLECULENET:
        raise ValueError(f"name={name!r} is not a supported MoleculeNet set; choose one of "
                         f"{sorted(MOLECULENET)}.")
    spec = MOLECULENET[key]
    url = f"{URL}/{spec.url}"
    folder = find_raw(root, key, [spec.csv], source=url, download=download,
                      fetch=lambda folder: download_file(url, folder))
    graphs, skipped, rows = [], [], 0
    # csv handles quoted fields with commas (FreeSolv's IUPAC names, SIDER's header) and
    # the blank line that follows every row of HIV.csv.
    path = folder / spec.csv
    fix = (f"delete {path} and re-download it (download=True) or point root= at an intact "
           "copy.")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} is empty (no header line); {fix}")
        task_names = header[spec.targets]
        for values in reader:
            if not values or not any(v.strip() for v in values):
                continue
            if limit is not None and rows >= limit:
                break
            rows += 1
            if len(values) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: {len(values)} fields, but "
                                 f"the header has {len(header)}; the file is truncated or "
                                 f"corrupt: {fix}")
            smiles = values[spec.smiles].strip()
            try:
                y = [float(v) if v.strip() else float("nan") for v in values[spec.targets]]
            except ValueError:
                raise ValueError(f"{path}, line {reader.line_num}: target columns "
                                 f"{task_names} hold {values[spec.targets]}, not numbers; "
                                 f"{fix}") from None
            try:
                g = from_smiles(smiles)
            except ValueError as err:
                lines = str(err).split("\n")
                reason = " ".join(line.strip() for line in lines[1:-1]) or lines[0]
                skipped.append(SkippedMolecule(rows - 1, smiles, reason))
                continue
            if g.num_nodes == 0:
                skipped.append(SkippedMolecule(rows - 1, smiles, "no atoms"))
                continue
            g.y = torch.tensor(y, dtype=torch.float).view(1, -1)
            graphs.append(g)
    return MoleculeDataset(graphs, name=key, task_names=task_names, skipped=skipped,
                           num_rows=rows)

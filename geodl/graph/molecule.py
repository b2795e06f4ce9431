"""Molecules as graphs: RDKit <-> :class:`~geodl.graph.Graph` with OGB's integer features.

A molecule is a graph whose nodes are atoms and whose edges are bonds. Each undirected bond
becomes two directed edges, ``i -> j`` then ``j -> i`` (consecutive, bond ``k`` at columns
``2k`` and ``2k + 1``), as OGB and PyG store them. Features are small integers, one column per
categorical property, ready for one ``nn.Embedding`` per column (:func:`atom_feature_dims`):

- ``x`` ``(N, 9)`` long: atomic number, chirality tag, degree, formal charge, number of Hs,
  number of radical electrons, hybridisation, aromatic, in ring (:data:`ATOM_FEATURES`);
- ``edge_attr`` ``(E, 3)`` long: bond type, bond stereo, conjugated (:data:`BOND_FEATURES`).

These are OGB's features: the vocabularies below are copied from ``ogb.utils.features``
(``allowable_features``, Hu et al. 2020, "Open Graph Benchmark", MIT licence), with OGB's rule
that a value outside a vocabulary goes to its last entry (``"misc"``). geodl does not depend on
the ``ogb`` package. (PyG's ``torch_geometric.utils.from_smiles`` uses a different, larger
vocabulary; the two are not interchangeable.)

OGB's features do not say *which* neighbours a stereo label refers to: RDKit's tetrahedral tag
(clockwise / anticlockwise) is relative to the order of the atom's bonds, and a double bond's
cis/trans to one chosen neighbour on each side. :func:`from_mol` therefore adds one documented
edge attribute, ``stereo_ref`` ``(E, 3)`` long, so that :func:`to_mol` can rebuild the stereo
even after the edges or nodes are reordered (it stores ranks and flags, never node ids):

- ``stereo_ref[e, 0]``: for edge ``u -> v``, the position of the bond ``u-v`` among ``v``'s
  bonds, i.e. the neighbour order that ``v``'s chirality tag ``x[v, 1]`` refers to;
- ``stereo_ref[e, 1]``: 1 if ``u`` is ``v``'s reference neighbour for the stereo double bond
  at ``v`` (RDKit's "stereo atom"; an atom ending two stereo double bonds is ambiguous), else 0;
- ``stereo_ref[e, 2]``: on both edges of a stereo double bond, 1 if its two reference
  neighbours are *cis*, 2 if *trans*; 0 elsewhere.

What round-trips through :func:`to_smiles` / :func:`to_mol`: atoms (element, formal charge, H
count, radicals, aromaticity), bonds (single, double, triple, aromatic), tetrahedral centres and
double-bond E/Z, hence RDKit's canonical isomeric SMILES (every molecule of MoleculeNet's ESOL
does; see ``tests/graph/test_molecule.py``), and ``from_mol(to_mol(g))`` has the same features.
What does not: isotopes, atom-map numbers, dative or other exotic bond types (OGB's ``"misc"``
bond type), formal charges beyond +-5, more than 8 Hs or 4 radical electrons on one atom, and
non-tetrahedral stereo (square-planar, allene, atropisomer tags), none of which OGB's
vocabularies can hold; a dummy atom ``*`` (atomic number 0, OGB's ``"misc"``) comes back as
``*``, and so would any other atom outside the vocabulary.

Without ``stereo_ref`` (a graph built elsewhere with OGB's features), :func:`to_mol` reads
tetrahedral tags against the order in which each atom's bonds first appear in ``edge_index``
(true for OGB's own graphs) and recovers E/Z from RDKit's CIP ranks; cis/trans labels (RDKit's
newer stereo perception) without their reference neighbours cannot be recovered.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from geodl.graph.graph import Graph

__all__ = [
    "ATOM_FEATURES",
    "BOND_FEATURES",
    "atom_feature_dims",
    "bond_feature_dims",
    "from_smiles",
    "to_smiles",
    "from_mol",
    "to_mol",
]

# -- vocabularies: ogb/utils/features.py `allowable_features` (OGB, MIT licence) ---------------
# Column order of x and edge_attr; a value not in a vocabulary maps to its last entry.
ATOM_FEATURES: dict[str, tuple] = {
    "atomic_num": (*range(1, 119), "misc"),
    "chirality": ("CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER",
                  "misc"),
    "degree": (*range(11), "misc"),  # total degree, implicit Hs included
    "formal_charge": (*range(-5, 6), "misc"),
    "num_hs": (*range(9), "misc"),  # total number of Hs (implicit + explicit count)
    "num_radical_electrons": (*range(5), "misc"),
    "hybridization": ("SP", "SP2", "SP3", "SP3D", "SP3D2", "misc"),
    "is_aromatic": (False, True),
    "is_in_ring": (False, True),
}
"""Atom feature vocabularies, in the column order of ``x``: ``x[i, c]`` is the index of atom
``i``'s property ``c`` in ``list(ATOM_FEATURES.values())[c]``."""

BOND_FEATURES: dict[str, tuple] = {
    "bond_type": ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC", "misc"),
    "bond_stereo": ("STEREONONE", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "STEREOANY"),
    "is_conjugated": (False, True),
}
"""Bond feature vocabularies, in the column order of ``edge_attr``. OGB's bond-stereo list has
no ``"misc"`` entry: a stereo value it lacks (RDKit's atropisomer labels) lands on its last
entry, ``STEREOANY``, as OGB's ``safe_index`` would put it."""

_ATOM_VOCABS = tuple(ATOM_FEATURES.values())
_BOND_VOCABS = tuple(BOND_FEATURES.values())
_AROMATIC_BOND = BOND_FEATURES["bond_type"].index("AROMATIC")
_STEREO = BOND_FEATURES["bond_stereo"]
_CIS, _TRANS = 1, 2  # codes of stereo_ref[:, 2]


def atom_feature_dims() -> list[int]:
    """Vocabulary size of each column of ``x`` (OGB's ``get_atom_feature_dims``).

    >>> atom_feature_dims()
    [119, 5, 12, 12, 10, 6, 6, 2, 2]
    """
    return [len(v) for v in _ATOM_VOCABS]


def bond_feature_dims() -> list[int]:
    """Vocabulary size of each column of ``edge_attr`` (OGB's ``get_bond_feature_dims``).

    >>> bond_feature_dims()
    [5, 6, 2]
    """
    return [len(v) for v in _BOND_VOCABS]


def _index(vocab: tuple, value: Any) -> int:
    # OGB's safe_index: unknown values go to the last entry ("misc")
    try:
        return vocab.index(value)
    except ValueError:
        return len(vocab) - 1


class _QuietRDKit:
    """Silence RDKit's C++ logs; keep its error messages (where this RDKit can capture them)."""

    def __enter__(self) -> _QuietRDKit:
        from rdkit import rdBase

        self._block = rdBase.BlockLogs()
        capture = getattr(rdBase, "CaptureErrorLog", None)  # RDKit >= 2025
        self._capture = capture().__enter__() if capture is not None else None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._capture is not None:
            self._capture.__exit__(*exc)
        del self._block  # logs come back when the BlockLogs object dies

    @property
    def messages(self) -> list[str]:
        if self._capture is None:
            return []
        lines = []
        for line in self._capture.messages.splitlines():
            line = re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line).rstrip()  # drop the time stamp
            if line.strip() and line not in lines:
                lines.append(line)
        return lines


# -- SMILES / Mol -> Graph ----------------------------------------------------------------------
def from_smiles(smiles: str, *, with_hydrogen: bool = False, kekulize: bool = False) -> Graph:
    """Parse a SMILES string into a molecular graph with OGB's atom and bond features.

    Args:
        smiles: the molecule, e.g. ``"CC(=O)O"``. Parsed and sanitised by RDKit (which drops
            explicit hydrogens unless they carry information, as ``Chem.MolFromSmiles`` does).
        with_hydrogen: add every hydrogen as a node (``Chem.AddHs``); the ``num_hs`` column of
            heavy atoms is then 0.
        kekulize: store aromatic bonds as alternating single/double bonds (``Chem.Kekulize``);
            atoms keep their aromatic flag.

    Returns:
        a :class:`~geodl.graph.Graph` as :func:`from_mol` builds it, with ``g.smiles`` the input
        string (metadata only: :func:`to_smiles` rebuilds from the features).

    Raises:
        TypeError: ``smiles`` is not a ``str``.
        ValueError: RDKit cannot parse or sanitise ``smiles``; the message quotes it and says
            why (RDKit's own logging is silenced).

    Shapes:
        x ``(N, 9)``, edge_index ``(2, 2B)``, edge_attr ``(2B, 3)``, stereo_ref ``(2B, 3)``,
        for ``N`` atoms and ``B`` bonds.

    Example:
        >>> g = from_smiles("CCO")  # ethanol
        >>> g.x[:, 0].tolist()  # atomic number - 1: C, C, O
        [5, 5, 7]
        >>> g.edge_index
        tensor([[0, 1, 1, 2],
                [1, 0, 2, 1]])
    """
    from rdkit import Chem

    if not isinstance(smiles, str):
        raise TypeError(f"smiles must be a str, got {type(smiles).__name__} {smiles!r}; for an "
                        "RDKit Mol use from_mol(mol).")
    if not smiles.strip():
        raise ValueError(f"smiles={smiles!r} is empty: expected a molecule such as 'CCO' "
                         "(a missing value in a CSV column?).")
    with _QuietRDKit() as quiet:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            reason = "\n    ".join(quiet.messages or [_why_unparsable(smiles)])
            raise ValueError(
                f"RDKit cannot parse the SMILES {smiles!r}:\n    {reason}\nCheck that every "
                "ring-closure digit is closed ('C1CC' opens ring 1 and never closes it: "
                "'C1CC1'), brackets and parentheses are balanced, element symbols exist, "
                "valences are possible (no 5-bonded carbon) and aromatic rings can be kekulized "
                "(write [nH] for a pyrrole-type nitrogen).")
        if with_hydrogen:
            mol = Chem.AddHs(mol)
        if kekulize:
            Chem.Kekulize(mol)
    g = from_mol(mol)
    g.smiles = smiles
    return g


def _why_unparsable(smiles: str) -> str:
    """RDKit's reason for rejecting ``smiles``, for RDKit versions that cannot capture logs."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        return "it is not valid SMILES syntax"
    try:
        Chem.SanitizeMol(mol)
    except Exception as err:  # RDKit raises several exception types (valence, kekulization)
        return f"sanitisation failed ({err})"
    return "RDKit returned no molecule"


def from_mol(mol: Any) -> Graph:
    """Convert an RDKit ``Mol`` into a molecular graph (atoms = nodes, bonds = edge pairs).

    Atom ``i`` of ``mol`` is node ``i``; bond ``k`` (from atom ``i`` to atom ``j``) is edge
    ``2k`` (``i -> j``) and edge ``2k + 1`` (``j -> i``), both with the bond's features.
    See the module docstring for the feature columns and for ``stereo_ref``.

    Args:
        mol: an ``rdkit.Chem.Mol`` (sanitised, as ``Chem.MolFromSmiles`` returns it).

    Returns:
        a :class:`~geodl.graph.Graph` with ``x`` ``(N, 9)``, ``edge_index`` ``(2, E)``,
        ``edge_attr`` ``(E, 3)`` and ``stereo_ref`` ``(E, 3)``, all long.

    Example:
        >>> from rdkit import Chem
        >>> g = from_mol(Chem.MolFromSmiles("C=O"))
        >>> g.edge_attr.tolist()  # double, no stereo, not conjugated; both directions
        [[1, 0, 0], [1, 0, 0]]
    """
    from rdkit import Chem

    if not isinstance(mol, Chem.Mol):
        raise TypeError(f"mol must be an rdkit.Chem.Mol, got {type(mol).__name__}; for a "
                        "SMILES string use from_smiles(smiles).")
    atoms = [[
        _index(_ATOM_VOCABS[0], a.GetAtomicNum()),
        _index(_ATOM_VOCABS[1], str(a.GetChiralTag())),
        _index(_ATOM_VOCABS[2], a.GetTotalDegree()),
        _index(_ATOM_VOCABS[3], a.GetFormalCharge()),
        _index(_ATOM_VOCABS[4], a.GetTotalNumHs()),
        _index(_ATOM_VOCABS[5], a.GetNumRadicalElectrons()),
        _index(_ATOM_VOCABS[6], str(a.GetHybridization())),
        _index(_ATOM_VOCABS[7], a.GetIsAromatic()),
        _index(_ATOM_VOCABS[8], a.IsInRing()),
    ] for a in mol.GetAtoms()]
    x = torch.tensor(atoms, dtype=torch.long).view(-1, len(_ATOM_VOCABS))  # (N, 9)

    bonds = list(mol.GetBonds())
    num_edges = 2 * len(bonds)
    edge_index = torch.empty(2, num_edges, dtype=torch.long)
    edge_attr = torch.empty(num_edges, len(_BOND_VOCABS), dtype=torch.long)
    stereo_ref = torch.zeros(num_edges, 3, dtype=torch.long)
    # position of each bond in each atom's bond list: what the chirality tag refers to
    rank = [{b.GetIdx(): r for r, b in enumerate(a.GetBonds())} for a in mol.GetAtoms()]

    def edge(u: int, v: int) -> int:  # column of the directed edge u -> v
        k = mol.GetBondBetweenAtoms(u, v).GetIdx()
        return 2 * k + (bonds[k].GetBeginAtomIdx() != u)

    for k, b in enumerate(bonds):
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        edge_index[:, 2 * k] = torch.tensor([i, j])
        edge_index[:, 2 * k + 1] = torch.tensor([j, i])
        edge_attr[2 * k] = edge_attr[2 * k + 1] = torch.tensor([
            _index(_BOND_VOCABS[0], str(b.GetBondType())),
            _index(_BOND_VOCABS[1], str(b.GetStereo())),
            _index(_BOND_VOCABS[2], b.GetIsConjugated()),
        ])
        stereo_ref[2 * k, 0], stereo_ref[2 * k + 1, 0] = rank[j][k], rank[i][k]
        stereo, refs = str(b.GetStereo()), list(b.GetStereoAtoms())
        if stereo in ("STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS") and len(refs) == 2:
            # RDKit: E/Z bonds carry their CIP-highest neighbours as stereo atoms, so Z = cis
            stereo_ref[2 * k:2 * k + 2, 2] = _CIS if stereo in ("STEREOZ", "STEREOCIS") else _TRANS
            stereo_ref[edge(refs[0], i), 1] = 1
            stereo_ref[edge(refs[1], j), 1] = 1
    return Graph(x=x, edge_index=edge_index, edge_attr=edge_attr, stereo_ref=stereo_ref,
                 num_nodes=x.size(0))


# -- Graph -> Mol / SMILES ----------------------------------------------------------------------
def _molecule_tensors(g: Any) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """Check that ``g`` carries :func:`from_mol`'s features; return them as long tensors."""
    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl Graph or PyG Data made by from_smiles/from_mol, got "
                        f"{type(g).__name__}.")
    store = g._store
    x = store["x"] if "x" in store else None
    edge_attr = store["edge_attr"] if "edge_attr" in store else None
    edge_index = g.edge_index
    hint = "; build the graph with geodl.graph.from_smiles or from_mol"
    n_atom, n_bond = len(_ATOM_VOCABS), len(_BOND_VOCABS)
    if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != n_atom:
        got = "no x" if x is None else f"x of shape {tuple(getattr(x, 'shape', ()))}"
        raise ValueError(f"to_mol/to_smiles need OGB atom features x of shape (N, {n_atom}) "
                         f"({', '.join(ATOM_FEATURES)}), got {got}{hint}.")
    if edge_index is None:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    num_edges = edge_index.size(1)
    if edge_attr is None and num_edges == 0:
        edge_attr = torch.empty(0, n_bond, dtype=torch.long)
    if not isinstance(edge_attr, Tensor) or edge_attr.dim() != 2 or edge_attr.size(1) != n_bond:
        got = ("no edge_attr" if edge_attr is None
               else f"edge_attr of shape {tuple(getattr(edge_attr, 'shape', ()))}")
        raise ValueError(f"to_mol/to_smiles need OGB bond features edge_attr of shape "
                         f"(E, {n_bond}) ({', '.join(BOND_FEATURES)}), got {got}{hint}.")
    for name, t, vocabs in (("x", x, _ATOM_VOCABS), ("edge_attr", edge_attr, _BOND_VOCABS)):
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer feature indices, got dtype {t.dtype}; "
                             f"these are not OGB molecule features{hint}.")
        for c, vocab in enumerate(vocabs):
            col = t[:, c]
            if col.numel() and (int(col.min()) < 0 or int(col.max()) >= len(vocab)):
                bad = int(col[(col < 0) | (col >= len(vocab))][0])
                column = list(ATOM_FEATURES if name == "x" else BOND_FEATURES)[c]
                raise ValueError(f"{name}[:, {c}] ({column}) holds {bad}, outside its vocabulary "
                                 f"of {len(vocab)} entries (valid 0..{len(vocab) - 1}){hint}.")
    if edge_attr.size(0) != num_edges:
        raise ValueError(f"edge_attr has {edge_attr.size(0)} rows but edge_index has {num_edges} "
                         "edges: one bond-feature row per directed edge.")
    ref = store["stereo_ref"] if "stereo_ref" in store else None
    if ref is not None and (not isinstance(ref, Tensor) or tuple(ref.shape) != (num_edges, 3)):
        raise ValueError(f"stereo_ref must have shape ({num_edges}, 3) (one row per edge, see "
                         f"geodl.graph.molecule), got {tuple(getattr(ref, 'shape', ()))}.")
    return x.long(), edge_index.long(), edge_attr.long(), None if ref is None else ref.long()


def _decode(vocab_name: str, code: int, atom: int) -> Any:
    value = ATOM_FEATURES[vocab_name][code]
    if value == "misc":
        raise ValueError(f"atom {atom} has {vocab_name} 'misc' (OGB's bucket for values outside "
                         f"its vocabulary): the original value is lost, so the molecule cannot "
                         "be rebuilt.")
    return value


def _parity(order: list[int], reference: list[int]) -> int:
    """Parity (0 even, 1 odd) of the permutation taking ``reference`` to ``order``."""
    perm = [reference.index(v) for v in order]
    swaps = 0
    for i in range(len(perm)):
        while perm[i] != i:
            j = perm[i]
            perm[i], perm[j] = perm[j], perm[i]
            swaps += 1
    return swaps % 2


def to_mol(g: Data, *, sanitize: bool = True) -> Any:
    """Rebuild the RDKit ``Mol`` that a molecular graph's features describe.

    Reads atomic numbers, formal charges, H counts, radical electrons and aromaticity from
    ``x``; bond types from ``edge_attr``; tetrahedral chirality from ``x[:, 1]`` and E/Z from
    ``edge_attr[:, 1]``, placed with the help of ``stereo_ref`` when present (see the module
    docstring for what round-trips). Degree, hybridisation, ring membership and conjugation are
    recomputed by RDKit's sanitisation. Never reads ``g.smiles``.

    Args:
        g: a graph from :func:`from_smiles` / :func:`from_mol` (or any graph with the same OGB
            features): ``x`` ``(N, 9)``, ``edge_index`` ``(2, E)`` holding every bond in both
            directions, ``edge_attr`` ``(E, 3)``, optionally ``stereo_ref`` ``(E, 3)``.
        sanitize: run RDKit's sanitisation and stereo perception (default). ``False`` returns
            the raw molecule with the stored flags, without E/Z.

    Returns:
        an ``rdkit.Chem.Mol`` whose atom ``i`` is node ``i``.

    Raises:
        ValueError: a feature is missing or out of range, a bond lacks its reverse edge or the
            two directions disagree, a feature is OGB's ``"misc"`` bucket, or the features do
            not make a valid molecule.

    Example:
        >>> from rdkit import Chem
        >>> Chem.MolToSmiles(to_mol(from_smiles("OC(=O)C")))
        'CC(=O)O'
    """
    from rdkit import Chem

    x, edge_index, edge_attr, ref = _molecule_tensors(g)
    mol = Chem.RWMol()
    for i, (z, chiral, _, charge, hs, radicals, _, aromatic, _) in enumerate(x.tolist()):
        z = ATOM_FEATURES["atomic_num"][z]
        atom = Chem.Atom(0 if z == "misc" else z)  # misc: a dummy atom '*' (Z = 0)
        atom.SetFormalCharge(_decode("formal_charge", charge, i))
        atom.SetNumExplicitHs(_decode("num_hs", hs, i))
        atom.SetNoImplicit(True)  # the H count is exact: RDKit must not add any
        atom.SetNumRadicalElectrons(_decode("num_radical_electrons", radicals, i))
        atom.SetIsAromatic(bool(aromatic))
        tag = ATOM_FEATURES["chirality"][chiral]
        if tag in ("CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW"):
            atom.SetChiralTag(getattr(Chem.ChiralType, tag))
        mol.AddAtom(atom)

    # bonds, in the order of their first edge; both directions must be there and agree
    first: dict[tuple[int, int], int] = {}  # (u, v) with u < v -> column of its first edge
    edges: dict[tuple[int, int], int] = {}  # directed (u, v) -> column
    rows = edge_attr.tolist()
    for e, (u, v) in enumerate(edge_index.t().tolist()):
        if u == v:
            raise ValueError(f"edge {e} is a self-loop on atom {u}: a molecule has no bond from "
                             "an atom to itself.")
        if (u, v) in edges:
            raise ValueError(f"edges {edges[(u, v)]} and {e} are both {u} -> {v}: each bond must "
                             "appear once per direction.")
        edges[(u, v)] = e
        key = (min(u, v), max(u, v))
        if key in first and rows[first[key]] != rows[e]:
            raise ValueError(f"edges {first[key]} and {e} (bond {key[0]}-{key[1]}, one per "
                             f"direction) have different edge_attr {rows[first[key]]} and "
                             f"{rows[e]}: a bond has one set of features.")
        first.setdefault(key, e)
    src, dst = edge_index.tolist()
    for e in first.values():
        u, v = src[e], dst[e]  # the bond's begin and end atoms, as its first edge has them
        if (v, u) not in edges:
            raise ValueError(f"bond {u}-{v} appears only as edge {e} ({u} -> {v}), without "
                             f"{v} -> {u}: a molecular graph holds each bond in both directions "
                             "(i -> j and j -> i).")
        bond_type = BOND_FEATURES["bond_type"][rows[e][0]]
        if bond_type == "misc":
            raise ValueError(f"bond {u}-{v} has bond type 'misc' (OGB's bucket for dative, "
                             "quadruple, ... bonds): the original type is lost, so the molecule "
                             "cannot be rebuilt.")
        mol.AddBond(u, v, getattr(Chem.BondType, bond_type))
        if rows[e][0] == _AROMATIC_BOND:
            mol.GetBondBetweenAtoms(u, v).SetIsAromatic(True)

    if ref is not None:  # chirality tags refer to the stored neighbour order: fix the parity
        refs = ref.tolist()
        for atom in mol.GetAtoms():
            if atom.GetChiralTag() == Chem.ChiralType.CHI_UNSPECIFIED:
                continue
            v = atom.GetIdx()
            built = [b.GetOtherAtomIdx(v) for b in atom.GetBonds()]
            stored = sorted(built, key=lambda u: refs[edges[(u, v)]][0])
            if _parity(stored, built):
                atom.InvertChirality()

    mol = mol.GetMol()
    if not sanitize:
        return mol
    with _QuietRDKit() as quiet:
        try:
            Chem.SanitizeMol(mol)
        except Exception as err:  # valence / kekulization errors, of several RDKit types
            reason = "; ".join(quiet.messages) or str(err).strip()
            raise ValueError(f"the graph's features do not describe a valid molecule: RDKit's "
                             f"sanitisation failed ({reason}).") from None
        _set_double_bond_stereo(mol, edge_attr, edges, first, ref)
        Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    return mol


def _set_double_bond_stereo(mol: Any, edge_attr: Tensor, edges: dict, first: dict,
                            ref: Tensor | None) -> None:
    """Give each stereo double bond its reference neighbours and cis/trans, then bond
    directions, from which RDKit's stereo perception derives E/Z."""
    from rdkit import Chem

    stereo = edge_attr[:, 1].tolist()
    refs = ref.tolist() if ref is not None else None
    cip: list[int] | None = None
    for (i, j), e in first.items():
        label = _STEREO[stereo[e]]
        if label == "STEREONONE":
            continue
        bond = mol.GetBondBetweenAtoms(i, j)
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()  # stereo atoms go begin, end
        if label == "STEREOANY":
            bond.SetStereo(Chem.BondStereo.STEREOANY)
            continue
        ends = []
        relation = refs[e][2] if refs is not None else 0
        if relation in (_CIS, _TRANS):  # the stored reference neighbours
            for a, b in ((i, j), (j, i)):
                nbrs = [n.GetIdx() for n in mol.GetAtomWithIdx(a).GetNeighbors()
                        if n.GetIdx() != b and refs[edges[(n.GetIdx(), a)]][1]]
                ends.append(nbrs[0] if len(nbrs) == 1 else None)
        elif label in ("STEREOE", "STEREOZ"):  # no references: E/Z is about CIP-highest ones
            if cip is None:
                Chem.AssignStereochemistry(mol, cleanIt=False, force=True,
                                           flagPossibleStereoCenters=True)
                cip = [a.GetIntProp("_CIPRank") if a.HasProp("_CIPRank") else -1
                       for a in mol.GetAtoms()]
            relation = _CIS if label == "STEREOZ" else _TRANS
            for a, b in ((i, j), (j, i)):
                nbrs = sorted((cip[n.GetIdx()], n.GetIdx())
                              for n in mol.GetAtomWithIdx(a).GetNeighbors() if n.GetIdx() != b)
                unique = nbrs and (len(nbrs) == 1 or nbrs[-1][0] != nbrs[-2][0])
                ends.append(nbrs[-1][1] if unique else None)
        if len(ends) == 2 and None not in ends:
            bond.SetStereoAtoms(ends[0], ends[1])
            bond.SetStereo(Chem.BondStereo.STEREOCIS if relation == _CIS
                           else Chem.BondStereo.STEREOTRANS)
    Chem.SetDoubleBondNeighborDirections(mol)


def to_smiles(g: Data, *, isomeric: bool = True, canonical: bool = True) -> str:
    """Write a molecular graph as SMILES, rebuilding the molecule from its features.

    The molecule comes from :func:`to_mol` (atoms, bonds, charges, Hs, radicals, aromaticity,
    chirality and E/Z from the features; ``g.smiles`` is never read), then RDKit writes it.

    Args:
        g: a graph from :func:`from_smiles` or :func:`from_mol`.
        isomeric: write stereo (``@``, ``/``, ``\\``), as RDKit's ``isomericSmiles``.
        canonical: RDKit's canonical atom order (default); ``False`` follows node order.

    Raises:
        ValueError: ``g`` lacks the molecule features (the message names which), or they do
            not describe a molecule (see :func:`to_mol`).

    Example:
        >>> to_smiles(from_smiles("N[C@@H](C)C(=O)O"))  # L-alanine, canonical order
        'C[C@H](N)C(=O)O'
        >>> to_smiles(from_smiles("F/C=C/F"))
        'F/C=C/F'
    """
    from rdkit import Chem

    return Chem.MolToSmiles(to_mol(g), isomericSmiles=isomeric, canonical=canonical)

"""Tests of geodl.graph.molecule: SMILES/RDKit <-> Graph with OGB features, and back."""

import csv

import pytest
import torch

from geodl.graph.graph import Graph
from geodl.graph.molecule import (
    ATOM_FEATURES,
    BOND_FEATURES,
    atom_feature_dims,
    bond_feature_dims,
    from_mol,
    from_smiles,
    to_mol,
    to_smiles,
)

Chem = pytest.importorskip("rdkit.Chem")


# E/Z double bonds (acyclic, ring, conjugated, C=N, N=N), tetrahedral centres (with implicit H,
# ring cis/trans, S and N+ centres), charged atoms, radicals, aromatic heterocycles.
STEREO_RICH = [
    "F/C=C/F",
    "F/C=C\\F",
    "C/C(F)=C(/Cl)Br",
    "F/C(Cl)=C(/F)Cl",
    "C/C=C/C=C/C",
    "C1CCC/C=C/CCC1",
    "C/C=C1\\CCCC1",
    "C/C=N/O",
    "C/N=N/C",
    "N/C(=N\\O)c1ccccc1",
    "CC/C=C\\C/C=C\\C/C=C\\CCCCCCCC(=O)O",  # linolenic acid
    "N[C@@H](C)C(=O)O",  # L-alanine
    "N[C@H](C)C(=O)O",
    "F[C@](Cl)(Br)I",
    "[C@@H](F)(Cl)Br",
    "C[C@H]1CC[C@@H](C)CC1",  # ring cis/trans: no CIP label, only the tags
    "C[C@H]1CC[C@H](C)CC1",
    "O[C@H]1[C@H](O)[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O",  # an inositol
    "C[C@@]12CC[C@H](C1)C2(C)C",
    "C[S@](=O)c1ccccc1",
    "C[N@@+](CC)(CCC)c1ccccc1",
    "C[C@H](Cl)/C=C/[C@H](C)Cl",
    "C/C=C/[C@@H](O)[C@H](C)/C=C(\\C)C(=O)O",
    "O=C1[C@H](C/C=C\\CC)CC[C@@H]1CC(=O)O",  # jasmonic acid
    "CC(C)C[C@H](NC(=O)[C@@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O",  # bortezomib
    "[O-][N+](=O)c1ccccc1",
    "CC(=O)[O-].[Na+]",
    "C[N+](C)(C)C.[Cl-]",
    "[NH4+]",
    "[Fe+2]",
    "[CH3]",
    "[CH2]C",
    "C[C]C",
    "[O][O]",
    "c1ccncc1",
    "c1cc[nH]c1",
    "c1ccoc1",
    "c1ccsc1",
    "c1cc[n+]([O-])cc1",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",  # caffeine
    "[H][H]",
    "C=C=C",
    "*C(=O)O",
]


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def same_features(g: Graph, h: Graph) -> bool:
    return all(torch.equal(g[k], h[k]) for k in ("x", "edge_index", "edge_attr", "stereo_ref"))


def shuffled(g: Graph, seed: int = 0, stereo_ref: bool = True) -> Graph:
    """``g`` with its nodes relabelled and its edges in a random order (pairs split up)."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(g.num_nodes, generator=gen)  # new node i is old node perm[i]
    new_id = torch.empty_like(perm)
    new_id[perm] = torch.arange(g.num_nodes)
    order = torch.randperm(g.num_edges, generator=gen)
    extra = {"stereo_ref": g.stereo_ref[order]} if stereo_ref else {}
    return Graph(x=g.x[perm], edge_index=new_id[g.edge_index][:, order],
                 edge_attr=g.edge_attr[order], **extra)


# -- features ------------------------------------------------------------------------------------
def test_feature_dims_are_ogbs():
    # ogb.utils.features.get_atom_feature_dims() / get_bond_feature_dims()
    assert atom_feature_dims() == [119, 5, 12, 12, 10, 6, 6, 2, 2]
    assert bond_feature_dims() == [5, 6, 2]
    assert list(ATOM_FEATURES) == ["atomic_num", "chirality", "degree", "formal_charge", "num_hs",
                                   "num_radical_electrons", "hybridization", "is_aromatic",
                                   "is_in_ring"]
    assert list(BOND_FEATURES) == ["bond_type", "bond_stereo", "is_conjugated"]


def test_acetic_acid_features():
    g = from_smiles("CC(=O)O")
    # Z-1, chirality, total degree, charge+5, total Hs, radicals, hybridisation, aromatic, ring
    assert g.x.dtype == torch.long
    assert g.x.tolist() == [
        [5, 0, 4, 5, 3, 0, 2, 0, 0],  # CH3: sp3
        [5, 0, 3, 5, 0, 0, 1, 0, 0],  # C(=O): sp2
        [7, 0, 1, 5, 0, 0, 1, 0, 0],  # =O: sp2
        [7, 0, 2, 5, 1, 0, 1, 0, 0],  # OH: RDKit calls a conjugated O sp2
    ]
    assert g.edge_index.tolist() == [[0, 1, 1, 2, 1, 3], [1, 0, 2, 1, 3, 1]]
    # bond type, stereo, conjugated; each bond twice, i -> j then j -> i
    assert g.edge_attr.tolist() == [[0, 0, 0], [0, 0, 0],  # C-C
                                    [1, 0, 1], [1, 0, 1],  # C=O, conjugated
                                    [0, 0, 1], [0, 0, 1]]  # C-O, conjugated
    assert g.smiles == "CC(=O)O"
    assert g.num_nodes == 4 and g.validate()


def test_ethanol_features():
    g = from_smiles("CCO")
    assert g.x.tolist() == [[5, 0, 4, 5, 3, 0, 2, 0, 0],
                            [5, 0, 4, 5, 2, 0, 2, 0, 0],
                            [7, 0, 2, 5, 1, 0, 2, 0, 0]]
    assert g.edge_attr.tolist() == [[0, 0, 0]] * 4


def test_stereo_features():
    g = from_smiles("F/C=C/Cl")  # E
    assert g.edge_attr[2:4].tolist() == [[1, 2, 0], [1, 2, 0]]  # double, STEREOE
    # the F and Cl are the double bond's reference neighbours, and they are trans
    assert g.stereo_ref[:, 1].tolist() == [1, 0, 0, 0, 0, 1]  # F -> C1 and Cl -> C2
    assert g.stereo_ref[:, 2].tolist() == [0, 0, 2, 2, 0, 0]
    g = from_smiles("N[C@@H](C)C(=O)O")
    assert g.x[1, 1] == ATOM_FEATURES["chirality"].index("CHI_TETRAHEDRAL_CW")
    assert from_smiles("c1ccncc1").x[:, 7].tolist() == [1] * 6
    assert from_smiles("[CH2]C").x[0, 5] == 1  # one radical electron
    assert from_smiles("[O-][N+](=O)C").x[:2, 3].tolist() == [4, 6]  # charges -1, +1


def test_misc_buckets():
    g = from_smiles("*C")  # a dummy atom has atomic number 0: OGB's 'misc'
    assert g.x[0, 0] == len(ATOM_FEATURES["atomic_num"]) - 1
    assert to_smiles(g) == "*C"


# -- round trips ---------------------------------------------------------------------------------
def test_esol_round_trip(shared_data):
    folder = shared_data / "esol"
    if not folder.is_dir():
        pytest.skip(f"ESOL data not found at {folder.resolve()} (expected <shared data>/esol, "
                    "see its SOURCE.md; GEODL_SHARED_DATA names the folder)")
    with open(folder / "delaney-processed.csv", newline="") as f:
        smiles = [row["smiles"].strip() for row in csv.DictReader(f)]
    parsed, failures = 0, []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            continue
        parsed += 1
        g = from_smiles(s)
        if to_smiles(g) != Chem.MolToSmiles(mol) or not same_features(from_mol(to_mol(g)), g):
            failures.append(s)
    assert len(smiles) == 1128 and parsed == 1128
    assert failures == []


@pytest.mark.parametrize("smiles", STEREO_RICH)
def test_stereo_rich_round_trip(smiles):
    g = from_smiles(smiles)
    assert to_smiles(g) == canonical(smiles)
    assert same_features(from_mol(to_mol(g)), g)
    # stereo lives in the features and stereo_ref, not in node or edge order
    assert to_smiles(shuffled(g, seed=1)) == canonical(smiles)
    assert to_smiles(shuffled(g, seed=2)) == canonical(smiles)


def test_stereo_is_not_vacuous():
    for s in ["F/C=C/F", "N[C@@H](C)C(=O)O", "C[C@H]1CC[C@@H](C)CC1"]:
        g = from_smiles(s)
        assert to_smiles(g) != to_smiles(g, isomeric=False)
    # flipping the chirality tag gives the enantiomer: to_smiles reads the features
    g = from_smiles("N[C@@H](C)C(=O)O")
    g.x[1, 1] = ATOM_FEATURES["chirality"].index("CHI_TETRAHEDRAL_CCW")
    assert to_smiles(g) == canonical("N[C@H](C)C(=O)O")
    # cis <-> trans through stereo_ref
    g = from_smiles("F/C=C/F")
    g.stereo_ref[2:4, 2] = 1
    assert to_smiles(g) == canonical("F/C=C\\F")


def test_to_smiles_ignores_stored_smiles():
    g = from_smiles("CCO")
    g.smiles = "c1ccccc1"
    assert to_smiles(g) == "CCO"
    del g.smiles
    assert to_smiles(g) == "CCO"


@pytest.mark.parametrize("smiles", ["N[C@@H](C)C(=O)O", "C/C(F)=C(/Cl)Br", "C/C=C/C=C/C",
                                    "C[C@H](Cl)/C=C/[C@H](C)Cl", "F[C@](Cl)(Br)I"])
def test_ogb_graph_without_stereo_ref(smiles):
    # a graph with only OGB's features (as ogb.utils.smiles2graph makes): tags are read against
    # the bond order, E/Z against RDKit's CIP ranks
    g = from_smiles(smiles)
    plain = Graph(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr)
    assert to_smiles(plain) == canonical(smiles)


@pytest.mark.parametrize("options", [{"with_hydrogen": True}, {"kekulize": True},
                                     {"with_hydrogen": True, "kekulize": True}])
@pytest.mark.parametrize("smiles", ["N[C@@H](C)C(=O)O", "F/C=C\\F", "c1cc[nH]c1",
                                    "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "C[C@H]1CC[C@@H](C)CC1"])
def test_round_trip_options(smiles, options):
    g = from_smiles(smiles, **options)
    if options.get("with_hydrogen"):
        assert int((g.x[:, 0] == 0).sum()) == Chem.AddHs(Chem.MolFromSmiles(smiles)).GetNumAtoms() \
            - Chem.MolFromSmiles(smiles).GetNumAtoms()  # atomic number 1 has index 0
        assert g.x[g.x[:, 0] != 0, 4].tolist() == [0] * int((g.x[:, 0] != 0).sum())
    if options.get("kekulize"):
        assert not bool((g.edge_attr[:, 0] == BOND_FEATURES["bond_type"].index("AROMATIC")).any())
    assert Chem.MolToSmiles(Chem.RemoveHs(to_mol(g))) == canonical(smiles)


def test_round_trip_with_new_stereo_perception():
    # RDKit's newer stereo perception labels double bonds cis/trans instead of E/Z
    legacy = Chem.GetUseLegacyStereoPerception()
    Chem.SetUseLegacyStereoPerception(False)
    try:
        for s in ["C/C(F)=C(/Cl)Br", "C/C=C\\C=C/C(=O)O", "N[C@@H](C)C(=O)O"]:
            g = from_smiles(s)
            assert to_smiles(g) == canonical(s)
            assert same_features(from_mol(to_mol(g)), g)
            assert to_smiles(shuffled(g)) == canonical(s)
    finally:
        Chem.SetUseLegacyStereoPerception(legacy)


def test_not_round_tripped_isotopes():
    # OGB's vocabulary has no isotope: [2H] comes back as plain H (documented)
    assert to_smiles(from_smiles("[2H]C")) == "[H]C"


def test_small_and_empty_molecules():
    g = from_smiles("[Na+].[Cl-]")
    assert g.num_nodes == 2 and g.edge_index.shape == (2, 0) and g.edge_attr.shape == (0, 3)
    assert to_smiles(g) == "[Cl-].[Na+]"
    empty = from_mol(Chem.Mol())
    assert empty.x.shape == (0, 9) and to_smiles(empty) == ""


def test_batched_molecules_round_trip():
    from torch_geometric.data import Batch

    smiles = ["CCO", "F/C=C/Cl", "N[C@@H](C)C(=O)O"]
    batch = Batch.from_data_list([from_smiles(s) for s in smiles])
    assert batch.stereo_ref.shape == (batch.num_edges, 3)
    assert [to_smiles(batch.get_example(i)) for i in range(3)] == [canonical(s) for s in smiles]


def test_mol_round_trip():
    mol = Chem.MolFromSmiles("C[C@H](N)C(=O)O")
    back = to_mol(from_mol(mol))
    assert isinstance(back, Chem.Mol) and Chem.MolToSmiles(back) == Chem.MolToSmiles(mol)
    assert to_smiles(from_smiles("OCC"), canonical=False) == "OCC"


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("smiles, why", [
    ("C1CC", "unclosed ring"),
    ("C(", "syntax error"),
    ("c1cccc1", "kekulize"),
    ("N(C)(C)(C)(C)C", "valence"),
])
def test_invalid_smiles(smiles, why, capfd):
    with pytest.raises(ValueError) as info:
        from_smiles(smiles)
    message = str(info.value)
    assert repr(smiles) in message and why.lower() in message.lower()
    assert "ring-closure" in message  # says what to check
    assert capfd.readouterr().err == ""  # RDKit's logger is silenced


def test_bad_types():
    with pytest.raises(TypeError, match="smiles must be a str, got int"):
        from_smiles(42)
    with pytest.raises(TypeError, match="from_smiles"):
        from_mol("CCO")
    with pytest.raises(TypeError, match="g must be"):
        to_smiles("CCO")
    with pytest.raises(ValueError, match="empty"):
        from_smiles("  ")


def test_to_smiles_without_features():
    g = from_smiles("CCO")
    with pytest.raises(ValueError, match=r"atom features x of shape \(N, 9\).*got no x"):
        to_smiles(Graph(edge_index=g.edge_index, num_nodes=3))
    with pytest.raises(ValueError, match=r"got x of shape \(3, 4\)"):
        to_smiles(Graph(x=torch.zeros(3, 4, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"edge_attr of shape \(E, 3\).*got no edge_attr"):
        to_smiles(Graph(x=g.x, edge_index=g.edge_index))
    with pytest.raises(ValueError, match="integer feature indices"):
        to_smiles(Graph(x=g.x.float(), edge_index=g.edge_index, edge_attr=g.edge_attr))


def test_to_smiles_bad_features():
    g = from_smiles("CCO")
    with pytest.raises(ValueError, match="both directions"):
        to_smiles(Graph(x=g.x, edge_index=g.edge_index[:, :3], edge_attr=g.edge_attr[:3]))
    attr = g.edge_attr.clone()
    attr[1, 0] = 1
    with pytest.raises(ValueError, match="different edge_attr"):
        to_smiles(Graph(x=g.x, edge_index=g.edge_index, edge_attr=attr))
    x = g.x.clone()
    x[0, 4] = 99
    with pytest.raises(ValueError, match=r"x\[:, 4\] \(num_hs\) holds 99"):
        to_smiles(Graph(x=x, edge_index=g.edge_index, edge_attr=g.edge_attr))
    x[0, 4] = len(ATOM_FEATURES["num_hs"]) - 1
    with pytest.raises(ValueError, match="atom 0 has num_hs 'misc'"):
        to_smiles(Graph(x=x, edge_index=g.edge_index, edge_attr=g.edge_attr))
    x[0, 4] = 5  # a carbon with 5 Hs and a bond
    with pytest.raises(ValueError, match="valence"):
        to_smiles(Graph(x=x, edge_index=g.edge_index, edge_attr=g.edge_attr))
    attr = g.edge_attr.clone()
    attr[:2, 0] = BOND_FEATURES["bond_type"].index("misc")
    with pytest.raises(ValueError, match="bond type 'misc'"):
        to_smiles(Graph(x=g.x, edge_index=g.edge_index, edge_attr=attr))
    loop = torch.tensor([[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="self-loop"):
        to_smiles(Graph(x=g.x, edge_index=loop, edge_attr=g.edge_attr[:2]))

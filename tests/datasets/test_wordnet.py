"""WordNet's noun graph from Debian's wordnet-base, and the power-law generator."""

from pathlib import Path

import pytest
import torch

from geodl.datasets import WORDNET_NOUN_FILES, load_wordnet_nouns, make_power_law

DATA_NOUN = Path("/usr/share/wordnet/data.noun")


@pytest.mark.skipif(not DATA_NOUN.is_file(), reason="needs Debian's wordnet-base package")
def test_wordnet_nouns():
    g = load_wordnet_nouns(DATA_NOUN.parent)
    assert g.num_nodes == 82115  # WordNet 3.0 noun synsets
    assert g.x.shape == (82115, 128) and len(WORDNET_NOUN_FILES) == 26
    assert int(g.y.min()) == 0 and int(g.y.max()) == 25
    # undirected, no duplicates, no self-loops
    key = g.edge_index[0] * g.num_nodes + g.edge_index[1]
    assert key.unique().numel() == key.numel()
    rev = g.edge_index[1] * g.num_nodes + g.edge_index[0]
    assert torch.equal(key.sort().values, rev.sort().values)
    assert (g.edge_index[0] != g.edge_index[1]).all()
    # 'entity' (offset 00001740) is the root: noun.Tops, hyponyms only
    root = int((g.offset == 1740).nonzero())
    assert WORDNET_NOUN_FILES[int(g.y[root])] == "Tops"
    assert (g.train_mask.sum() + g.val_mask.sum() + g.test_mask.sum()) == g.num_nodes
    assert not (g.train_mask & g.test_mask).any()


def test_missing_wordnet_names_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        load_wordnet_nouns(tmp_path)


def test_power_law_degrees():
    g = make_power_law(2000, 40_000, exponent=2.5, seed=1)
    deg = torch.bincount(g.edge_index[1], minlength=2000)
    assert g.num_edges <= 40_000 and (g.edge_index[0] != g.edge_index[1]).all()
    assert deg[:20].float().mean() > 10 * deg[1000:].float().mean()  # heavy head
    assert torch.equal(make_power_law(100, 500, seed=3).edge_index,
                       make_power_law(100, 500, seed=3).edge_index)
    with pytest.raises(ValueError, match="exponent"):
        make_power_law(100, 500, exponent=1.5)

"""Tests of geodl.viz.draw on the graphs people look at: karate club, a molecule, a grid."""

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from geodl.graph.convert import from_networkx  # noqa: E402
from geodl.graph.graph import Graph, grid_graph, path_graph  # noqa: E402
from geodl.viz.draw import LAYOUTS, draw  # noqa: E402

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def karate():
    g = from_networkx(nx.karate_club_graph())
    g.y = torch.tensor([club == "Officer" for club in g.club]).long()  # the two factions
    return g


def node_xy(ax) -> np.ndarray:
    return np.asarray(ax.collections[0].get_offsets())  # (N, 2) marker positions


def face_colors(ax) -> list[str]:
    markers = ax.collections[0]
    markers.update_scalarmappable()  # values -> colours happens at draw time otherwise
    return [to_hex(c) for c in markers.get_facecolors()]


def saved_png(ax, path) -> bytes:
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return data


def test_karate_club_by_faction(karate, tmp_path):
    ax = draw(karate, node_color=karate.y, labels=True)
    assert node_xy(ax).shape == (34, 2)
    assert np.isfinite(node_xy(ax)).all()
    colors = face_colors(ax)
    assert len(set(colors)) == 2
    assert len({colors[i] for i in range(34) if karate.y[i] == 0}) == 1  # one colour per faction
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]
    assert len(ax.texts) == 34  # node ids
    saved_png(ax, tmp_path / "karate.png")


def test_karate_defaults_and_string_attribute(karate):
    # default: colour by g.y; node_color may name a (string-valued) node attribute
    assert len(set(face_colors(draw(karate)))) == 2
    ax = draw(karate, node_color="club")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Mr. Hi", "Officer"]
    assert face_colors(ax) == face_colors(draw(karate, node_color=karate.y.tolist()))


def test_molecule_by_element(tmp_path):
    from geodl.graph.molecule import from_smiles

    g = from_smiles(ASPIRIN)  # 9 C, 4 O
    ax = draw(g)
    assert node_xy(ax).shape == (13, 2)
    symbols = [t.get_text() for t in ax.texts]
    assert sorted(symbols) == ["C"] * 9 + ["O"] * 4
    colors = face_colors(ax)
    oxygens = [i for i, z in enumerate(g.x[:, 0].tolist()) if z + 1 == 8]
    assert {colors[i] for i in oxygens} == {"#ff0d0d"}  # CPK red
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["C", "O"]
    widths = ax.collections[1].get_linewidths()  # double and aromatic bonds are drawn thicker
    assert len(widths) == 13 and len(set(np.round(widths, 2))) == 3
    saved_png(ax, tmp_path / "aspirin.png")


def test_grid_graph_in_row_major_order(tmp_path):
    ax = draw(grid_graph(3, 3))
    xy = node_xy(ax)
    rows, cols = np.divmod(np.arange(9), 3)
    np.testing.assert_array_equal(xy, np.stack([cols, -rows], axis=1))  # row 0 on top
    # 3x3 stencil: 49 directed edges, 9 of them self-loops (not drawn) -> 20 undirected lines
    assert len(ax.collections[1].get_segments()) == 20
    saved_png(ax, tmp_path / "grid.png")


def test_batched_grid_side_by_side():
    xy = node_xy(draw(grid_graph(2, 2, batch_size=2)))
    np.testing.assert_array_equal(xy[4:], xy[:4] + [3, 0])  # second image: one column gap


def test_node_color_forms():
    g = path_graph(4, directed=False)
    ax = draw(g, node_color=torch.tensor([0.0, 0.5, 1.0, 2.0]))  # values: colormap + colour bar
    assert len(ax.figure.axes) == 2 and len(set(face_colors(ax))) == 4
    assert set(face_colors(draw(g, node_color="red"))) == {"#ff0000"}
    assert face_colors(draw(g, node_color=["red", "green", "blue", "red"]))[2] == "#0000ff"
    rgb = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert face_colors(draw(g, node_color=rgb))[1] == "#00ff00"
    assert len(set(face_colors(draw(g, node_color=[True, False, True, True])))) == 2


@pytest.mark.parametrize("bad", [torch.zeros(3), [0, 1], np.ones(5)])
def test_node_color_wrong_length(bad):
    with pytest.raises(ValueError, match=r"node_color has \d entries .* graph has 4 nodes"):
        draw(path_graph(4), node_color=bad)


def test_node_color_bad_string():
    with pytest.raises(ValueError, match="node_color='faction' is neither an attribute"):
        draw(path_graph(4), node_color="faction")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts(layout):
    g = path_graph(5, directed=False)
    g.pos = torch.arange(10.0).view(5, 2)
    xy = node_xy(draw(g, layout=layout))
    assert xy.shape == (5, 2) and np.isfinite(xy).all()
    assert len(np.unique(xy, axis=0)) == 5  # no two nodes on one spot


def test_layout_choices_and_determinism():
    g = path_graph(6, directed=False)
    np.testing.assert_array_equal(node_xy(draw(g, seed=3)), node_xy(draw(g, seed=3)))
    pos = torch.tensor([[0.0, 0.0], [1, 0], [2, 1], [3, 0], [4, 1], [5, 0]])
    np.testing.assert_array_equal(node_xy(draw(g, layout=pos)), pos.numpy())
    g.pos = pos  # "auto" uses 2-D positions when the graph has them
    np.testing.assert_array_equal(node_xy(draw(g)), pos.numpy())
    with pytest.raises(ValueError, match="layout='circle' is not a valid option"):
        draw(g, layout="circle")
    with pytest.raises(ValueError, match=r"shape \(N, 2\) = \(6, 2\)"):
        draw(g, layout=torch.zeros(5, 2))


def test_directed_edges_get_arrows_and_given_axes_is_used():
    fig, ax = plt.subplots()
    out = draw(path_graph(5), ax=ax, labels=["a", "b", "c", "d", "e"])
    assert out is ax
    assert len(ax.patches) == 4  # one arrow per edge
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c", "d", "e"]


def test_graph_without_edges_and_bad_input():
    ax = draw(Graph(x=torch.zeros(3, 1)))
    assert node_xy(ax).shape == (3, 2)
    with pytest.raises(TypeError, match="g must be"):
        draw(nx.path_graph(3))
    with pytest.raises(ValueError, match="labels has 2 entries"):
        draw(path_graph(3), labels=["a", "b"])

"""Sphinx configuration of geodl's documentation: the API reference from the docstrings and the
tutorials as an executed sphinx-gallery.

Build (from the repository root)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``GEODL_DOCS_FAST=1`` runs every tutorial in its short mode (``GEODL_TUTORIAL_QUICK=1``), as CI
does; ``GEODL_DOCS_MATHJAX`` points at a local MathJax 2 ``MathJax.js`` for offline reading.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))  # gallery_scrapers

import geodl  # noqa: E402

if os.environ.get("GEODL_DOCS_FAST") == "1":
    os.environ["GEODL_TUTORIAL_QUICK"] = "1"  # read by every tutorial, run in this process
os.environ.setdefault("MPLBACKEND", "Agg")
# sphinx-gallery gives examples no __file__: the tutorials then read their data from GEODL_DATA,
# by default the repository's ../shared/data (as the tests do)
if (ROOT.parent / "shared" / "data").is_dir():
    os.environ.setdefault("GEODL_DATA", str(ROOT.parent / "shared" / "data"))

project = "geodl"
author = "The geodl developers"
copyright = "the geodl developers, MIT licence"
release = version = geodl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]
html_theme = "furo"
html_title = f"geodl {release}"
exclude_patterns = ["_build"]
default_role = "literal"  # `x` in the tutorials' text is code, as in their Markdown past

# -- API reference: autodoc + napoleon (Google-style Args/Returns, and geodl's Shapes: block)
autodoc_default_options = {"members": True, "imported-members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings carry types and shapes; keeps signatures short
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shapes", "Example"]
# nitpicky would flag every private base class and module-level constant the docstrings name;
# -W --keep-going still fails on a broken :doc:, :ref: or :mod: target and on markup errors
nitpicky = False
# names of other libraries: no inventories offline (intersphinx would download them)
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|scipy|sp|networkx|nx|optuna|matplotlib|plt|rdkit|sklearn"
               r"|torch_geometric|pyg|threadpoolctl|tqdm|sqlite3|pathlib|os|typing|collections"
               r"|dataclasses)(\..*)?"),
    (r"py:.*", r"(Tensor|Data|Batch|Module|nn\.Module|Parameter|Figure|Axes|Trial|Study"
               r"|Generator|Callable|Sequence|Iterable|Mapping|Literal|Any|Path|PathLike"
               r"|optional|callable|array_like|str|int|float|bool|dict|list|tuple|None)"),
]

if os.environ.get("GEODL_DOCS_MATHJAX"):  # e.g. Debian's libjs-mathjax, for offline reading
    mathjax_path = "file://" + os.environ["GEODL_DOCS_MATHJAX"] + "?config=TeX-AMS_HTML"
    mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]],
                                   "displayMath": [["\\[", "\\]"]]}}

# -- the gallery: every tutorials/NN_*.py, executed, figures scraped
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "tutorials"),
    "gallery_dirs": "tutorials",
    "filename_pattern": r"/\d\d_",  # execute every numbered tutorial
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "matplotlib_animations": False,
    # a page shows what the script prints, as `python NN_*.py` and the tests see it, not the
    # repr of a block's last expression (e.g. the float that assert_same_numbers returns)
    "capture_repr": (),
    # open matplotlib figures, and the PNGs a tutorial writes into its OUT folder
    "image_scrapers": ("matplotlib", "gallery_scrapers.saved_pngs"),
}

# -- the course table, generated from the tutorials present (docs/course.rst)
# (sequence, topic, tutorial stems); a tutorial not yet in tutorials/ is named, not linked
COURSE = [
    ("1", "perceptron and MLP", ["05_perceptron_and_mlp"]),
    ("2", "CNN", ["03_images_are_grid_graphs"]),
    ("3", "data preparation and augmentation", ["06_data_preparation"]),
    ("4", "the maths", ["07_the_maths"]),
    ("5a", "evaluation", ["08_evaluation"]),
    ("5b", "sparse data and embeddings", ["09_sparse_data_and_embeddings"]),
    ("6", "RNN", ["04_sequences_are_path_graphs"]),
    ("7", "PyTorch", ["16_pytorch_essentials"]),
    ("8", "transformers", ["17_transformers"]),
    ("9", "GNN", ["01_graph_data_layer", "02_gcn_on_cora", "18_gnns"]),
    ("10", "autoencoders", ["10_autoencoders"]),
    ("11", "VAE", ["11_vae"]),
    ("12", "GAN", ["13_gan"]),
    ("13", "diffusion", ["14_diffusion"]),
    ("14", "DALL-E", ["15_mini_dalle"]),
]


def _course_table() -> str:
    rows = []
    for seq, topic, stems in COURSE:
        links = [f":doc:`tutorials/{s}`" if (ROOT / "tutorials" / f"{s}.py").exists()
                 else f"``{s}.py`` (not yet written)" for s in stems]
        rows.append(f"   * - {seq}\n     - {topic}\n     - {', '.join(links)}")
    return ("..\n   Generated by docs/conf.py from its COURSE list; edit that, not this file.\n\n"
            ".. _course:\n\nThe course, sequence by sequence\n================================\n\n"
            "The seed course in order, each sequence with the executed tutorial that teaches it "
            "on geodl's one message-passing stack. Every tutorial asserts the equalities it "
            "claims (the graph form against the classic form) and prints them as "
            "``same numbers: ...`` lines.\n\n"
            ".. list-table::\n   :header-rows: 1\n   :widths: 8 30 62\n\n"
            "   * - sequence\n     - topic\n     - tutorial\n" + "\n".join(rows) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return  # unchanged: keep the mtime, so Sphinx does not rebuild the page
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


_write_atomic(DOCS / "course.rst", _course_table())


def setup(app):
    # PyG's docstrings (inherited by geodl.graph.Graph) use a :pyg: role of its own docs
    from docutils.parsers.rst import roles

    app.add_role("pyg", roles.GenericRole("pyg", __import__("docutils").nodes.literal))

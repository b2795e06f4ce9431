"""Datasets: loaders of real raw formats and generators of synthetic benchmarks.

Loaders read the raw files PyG and MoleculeNet use from a root folder: the ``root`` argument,
else ``$GEODL_DATA``, else ``~/.cache/geodl``; files are looked up in ``root/<Name>/raw/`` and
``root/<Name>/``. A missing file raises ``FileNotFoundError`` naming the path and the official
URL; ``download=True`` fetches it from there.

- :func:`load_planetoid`: Cora, CiteSeer (one graph, standard split masks).
- :func:`load_tu`: MUTAG, ENZYMES, PROTEINS (list of graphs, graph labels).
- :func:`load_moleculenet`: ESOL, FreeSolv, Lipophilicity, BACE, BBBP, HIV, Tox21, ClinTox,
  SIDER (a :class:`MoleculeDataset` of molecular graphs).
- :func:`load_karate`: Zachary's karate club with its two factions.
- :func:`load_wordnet_nouns`: WordNet 3.0's noun graph (Debian ``wordnet-base``);
  :func:`make_power_law`: Chung-Lu power-law graphs of any size.
- :func:`make_cluster`, :func:`make_pattern`: Benchmarking-GNNs SBM sets, regenerated.
- :func:`load_fashion_mnist` (Debian's ``dataset-fashion-mnist`` files), :func:`load_mnist`
  (idx files).
- :func:`load_tinyshakespeare` (characters) and :func:`load_sentiment` (UCI sentiment
  sentences).
- :func:`load_mnist1d` (from the ``mnist1d`` package, generated offline) and
  :func:`load_timeseries` (statsmodels' series) with :func:`sliding_windows`.
"""

from geodl.datasets._files import data_root
from geodl.datasets.images import (
    FASHION_MNIST_CLASSES,
    ImageSplit,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)
from geodl.datasets.karate import load_karate
from geodl.datasets.moleculenet import (
    MOLECULENET,
    MoleculeDataset,
    SkippedMolecule,
    load_moleculenet,
)
from geodl.datasets.planetoid import load_planetoid
from geodl.datasets.sbm import make_cluster, make_pattern
from geodl.datasets.sequences import (
    TIMESERIES,
    SequenceSplit,
    load_mnist1d,
    load_timeseries,
    sliding_windows,
)
from geodl.datasets.text import (
    CharVocab,
    SentimentData,
    TextCorpus,
    load_sentiment,
    load_tinyshakespeare,
)
from geodl.datasets.tu import load_tu
from geodl.datasets.wordnet import WORDNET_NOUN_FILES, load_wordnet_nouns, make_power_law

__all__ = [
    "data_root",
    "load_planetoid", "load_tu", "load_moleculenet", "load_karate",
    "make_cluster", "make_pattern", "load_wordnet_nouns", "make_power_law", "WORDNET_NOUN_FILES",
    "MoleculeDataset", "SkippedMolecule", "MOLECULENET",
    "load_fashion_mnist", "load_mnist", "ImageSplit", "read_idx", "FASHION_MNIST_CLASSES",
    "load_tinyshakespeare", "load_sentiment", "CharVocab", "TextCorpus", "SentimentData",
    "load_mnist1d", "load_timeseries", "sliding_windows", "SequenceSplit", "TIMESERIES",
]

"""Text corpora: tinyshakespeare (character language modelling) and the UCI sentiment sentences.

- :func:`load_tinyshakespeare`: Karpathy's char-rnn corpus (1,115,394 characters, 65 symbols),
  encoded with a :class:`CharVocab` and split 90/10 into train/validation as nanoGPT's
  ``shakespeare_char`` recipe does (first 90% of the text trains).
- :func:`load_sentiment`: Kotzias et al.'s "Sentiment Labelled Sentences" (KDD 2015), 3 x 1000
  ``sentence<TAB>label`` lines from Amazon, IMDb and Yelp reviews, balanced.

Both read from ``root/<name>/`` (see :mod:`geodl.datasets._files`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from geodl.datasets._files import download_file, download_zip, find_raw
from geodl.graph.validation import check_option

__all__ = ["CharVocab", "TextCorpus", "SentimentData", "load_tinyshakespeare",
           "load_sentiment"]

SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                   "tinyshakespeare/input.txt")
SENTIMENT_URL = ("https://archive.ics.uci.edu/ml/machine-learning-databases/00331/"
                 "sentiment%20labelled%20sentences.zip")
SENTIMENT_SOURCES = ("amazon", "imdb", "yelp")
_SENTIMENT_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt",
                    "yelp": "yelp_labelled.txt"}


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: ids ``0 .. len(specials) - 1`` are the special tokens, then the
    characters in the order given.

    Args:
        chars: the characters (each a 1-character string), usually ``sorted(set(text))``.
        specials: names of special tokens put first, e.g. ``("[PAD]", "[MASK]", "[CLS]",
            "[UNK]")`` for a BERT-style model.
        unk: a member of ``specials`` that unknown characters encode to; ``None``: unknown
            characters raise.

    >>> v = CharVocab.from_text("hello")
    >>> v.encode("hole").tolist(), v.decode(v.encode("hole")), len(v)
    ([1, 3, 2, 0], 'hole', 4)
    >>> w = CharVocab.from_text("ab", specials=("[PAD]", "[UNK]"), unk="[UNK]")
    >>> w.encode("abc").tolist(), w.id("[PAD]")
    ([2, 3, 1], 0)
    """

    chars: tuple[str, ...]
    specials: tuple[str, ...] = ()
    unk: str | None = None
    _stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "chars", tuple(self.chars))
        object.__setattr__(self, "specials", tuple(self.specials))
        bad = [c for c in self.chars if len(c) != 1]
        if bad:
            raise ValueError(f"chars must be single characters, got {bad[:3]!r}.")
        tokens = self.specials + self.chars
        if len(set(tokens)) != len(tokens):
            raise ValueError("chars and specials must be distinct; got a repeated token.")
        if self.unk is not None:
            check_option(self.unk, self.specials, "unk")
        object.__setattr__(self, "_stoi", {t: i for i, t in enumerate(tokens)})

    @classmethod
    def from_text(cls, text: str, specials: Sequence[str] = (), unk: str | None = None
                  ) -> CharVocab:
        """The sorted set of characters of ``text`` (nanoGPT's ``shakespeare_char`` order)."""
        return cls(tuple(sorted(set(text))), tuple(specials), unk)

    def __len__(self) -> int:
        return len(self.specials) + len(self.chars)

    def id(self, token: str) -> int:
        """The id of a character or special token."""
        if token not in self._stoi:
            raise KeyError(f"token {token!r} is not in the vocabulary (specials "
                           f"{list(self.specials)}, {len(self.chars)} characters).")
        return self._stoi[token]

    def encode(self, text: str) -> Tensor:
        """``(len(text),)`` long tensor of ids."""
        stoi, unk = self._stoi, None if self.unk is None else self._stoi[self.unk]
        if unk is None:
            missing = sorted(set(text) - set(self.chars))
            if missing:
                raise KeyError(f"characters {missing[:5]!r} are not in the vocabulary; build "
                               f"it with unk='[UNK]' among the specials to map them.")
            return torch.tensor([stoi[c] for c in text], dtype=torch.long)
        return torch.tensor([stoi.get(c, unk) for c in text], dtype=torch.long)

    def decode(self, ids: Iterable[int] | Tensor) -> str:
        """The string of ``ids`` (special tokens written as their names)."""
        tokens = self.specials + self.chars
        return "".join(tokens[int(i)] for i in ids)


@dataclass
class TextCorpus:
    """A character corpus: the raw ``text``, its ``vocab`` and the encoded ``train``/``val``
    splits (1-D long tensors; ``train`` is the first ``train_fraction`` of the text)."""

    text: str
    vocab: CharVocab
    train: Tensor
    val: Tensor


@dataclass
class SentimentData:
    """Labelled sentences: ``sentences[i]`` has ``labels[i]`` (1 = positive, 0 = negative) and
    comes from ``sources[i]`` (``"amazon"``, ``"imdb"`` or ``"yelp"``)."""

    sentences: list[str]
    labels: Tensor
    sources: list[str]


def load_tinyshakespeare(root: str | os.PathLike | None = None, *, train_fraction: float = 0.9,
                         download: bool = False) -> TextCorpus:
    """Load tinyshakespeare, a character vocabulary and its train/validation split.

    Args:
        root: folder holding ``tinyshakespeare/input.txt`` (or ``tinyshakespeare/raw/``);
            default ``$GEODL_DATA`` or ``~/.cache/geodl``.
        train_fraction: the leading fraction of the text used for training (nanoGPT: 0.9).
        download: fetch ``input.txt`` from Karpathy's char-rnn repository if missing.

    Returns:
        a :class:`TextCorpus`; ``vocab`` is the sorted set of the 65 characters, no specials.

    Shapes:
        train ``(1,003,854,)``, val ``(111,540,)`` at the default fraction.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}.")
    folder = find_raw(root, "tinyshakespeare", ["input.txt"], source=SHAKESPEARE_URL,
                      download=download,
                      fetch=lambda f: download_file(SHAKESPEARE_URL, f, "input.txt"))
    text = (folder / "input.txt").read_text(encoding="utf-8")
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)
    n = int(train_fraction * len(data))
    return TextCorpus(text=text, vocab=vocab, train=data[:n], val=data[n:])


def load_sentiment(root: str | os.PathLike | None = None,
                   sources: Sequence[str] = SENTIMENT_SOURCES, *,
                   download: bool = False) -> SentimentData:
    r"""Load the UCI "Sentiment Labelled Sentences" (Kotzias et al., KDD 2015).

    Each raw line is ``sentence<TAB>label``; lines are split at the last tab with no CSV
    quoting (IMDb sentences hold unbalanced double quotes, which merge lines under quoting),
    stray spaces around the label are stripped, and only ``\n`` ends a line (one IMDb
    sentence holds U+0085, a line break to :meth:`str.splitlines`).

    Args:
        root: folder holding ``sentiment_labelled_sentences/{amazon_cells,imdb,yelp}_labelled.txt``.
        sources: which of ``"amazon"``, ``"imdb"``, ``"yelp"`` to read, in this order.
        download: fetch the UCI zip archive if a file is missing.

    Returns:
        a :class:`SentimentData` with 1000 sentences per source, 500 of each label.
    """
    sources = [check_option(s, SENTIMENT_SOURCES, "sources") for s in sources]
    if not sources:
        raise ValueError(f"sources is empty; choose some of {list(SENTIMENT_SOURCES)}.")
    files = [_SENTIMENT_FILES[s] for s in sources]
    folder = find_raw(root, "sentiment_labelled_sentences", files, source=SENTIMENT_URL,
                      download=download, fetch=lambda f: download_zip(SENTIMENT_URL, f))
    sentences, labels, origin = [], [], []
    for source, name in zip(sources, files):
        # split on "\n" only: str.splitlines also breaks at U+0085, which an IMDb line holds
        lines = (folder / name).read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            sentence, tab, label = line.rpartition("\t")
            if not tab or label.strip() not in ("0", "1"):
                raise ValueError(f"{folder / name}:{number}: expected 'sentence<TAB>0|1', got "
                                 f"{line[-40:]!r}.")
            sentences.append(sentence.strip())
            labels.append(int(label))
            origin.append(source)
    return SentimentData(sentences, torch.tensor(labels, dtype=torch.long), origin)

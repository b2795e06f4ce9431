"""Captioned study images for a mini DALL-E: real Fashion-MNIST items (or MNIST digits), tinted
and placed on a ``28 x 56`` canvas, with a caption made from what is known about each image.

Three caption types, in the spirit of the DALL-E study ("does it understand colours and
objects, but not space?"):

=============  ===========================================  ==================================
type           caption                                      canvas (left half | right half)
=============  ===========================================  ==================================
``class``      ``"a sneaker"``                              grey item | empty
``colour``     ``"a red sneaker"``                          tinted item | empty
``relation``   ``"a red sneaker to the left of a blue bag"``  the two tinted items, in order
               (or ``"... to the right of ..."``)
=============  ===========================================  ==================================

A tint multiplies the grey levels by an RGB colour (the background stays black). **Held-out
combinations**: some ``(class, colour)`` pairs (:func:`held_out_pairs`) never appear in the
``"seen"`` set; the ``"held_out"`` set has only captions that name one of them, so a generator
trained on ``"seen"`` is tested on combinations it never saw.

Every image also carries its attributes ``attrs (N, 4)``: class and colour of the left half,
class and colour of the right half (class ``-1`` = empty half, colour ``0`` = grey), what the
judges (:mod:`geodl.bench.dalle`) are scored against. :class:`CaptionVocab` is the word-level
vocabulary (``<pad>`` = 0, ``<eos>`` = 1), with clear errors for an unknown word or a caption
longer than the context.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from geodl.graph.validation import check_option, check_positive_int

__all__ = ["COLOURS", "FASHION_WORDS", "DIGIT_WORDS", "KINDS", "CaptionVocab",
           "CaptionedImages", "held_out_pairs", "load_caption_source", "make_captioned_images",
           "compose"]

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.15, 0.15), "green": (0.2, 0.9, 0.2), "blue": (0.25, 0.4, 1.0),
    "yellow": (1.0, 0.9, 0.1), "magenta": (1.0, 0.2, 0.9), "cyan": (0.1, 0.9, 0.95)}
FASHION_WORDS = ("top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                 "bag", "boot")  # Fashion-MNIST's classes 0..9, one word each
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
KINDS = ("class", "colour", "relation")
_GLUE = ("a", "to", "the", "left", "right", "of")


class CaptionVocab:
    """A word-level vocabulary: ``<pad>`` (0), ``<eos>`` (1), the glue words, colours, classes.

    >>> vocab = CaptionVocab(["bag", "sneaker"], ["red"])
    >>> vocab.encode("a red bag", context=5).tolist()
    [2, 8, 9, 1, 0]
    >>> vocab.decode(vocab.encode("a red bag", context=5))
    'a red bag'
    """

    pad_id, eos_id = 0, 1

    def __init__(self, classes, colours):
        self.words = ["<pad>", "<eos>", *_GLUE, *colours, *classes]
        if len(set(self.words)) != len(self.words):
            raise ValueError(f"the vocabulary has repeated words: {self.words}; give distinct "
                             "class and colour names.")
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, caption: str, context: int) -> Tensor:
        """Word ids ``(context,)``: the words, ``<eos>``, then ``<pad>``."""
        words = caption.lower().split()
        unknown = [w for w in words if w not in self.index or w.startswith("<")]
        if unknown:
            raise ValueError(f"caption {caption!r} has the unknown word(s) {unknown}; the "
                             f"vocabulary knows {self.words[2:]}. Rephrase the caption or build "
                             "the vocabulary with those classes/colours.")
        if len(words) + 1 > context:
            raise ValueError(f"caption {caption!r} has {len(words)} words + <eos> = "
                             f"{len(words) + 1} tokens > the context of {context}; shorten it "
                             "or use a model with a longer text context.")
        ids = [self.index[w] for w in words] + [self.eos_id]
        return torch.tensor(ids + [self.pad_id] * (context - len(ids)))

    def encode_all(self, captions, context: int) -> Tensor:
        """``(N, context)`` ids of many captions."""
        return torch.stack([self.encode(c, context) for c in captions])

    def decode(self, ids: Tensor) -> str:
        out = []
        for i in ids.tolist():
            if i == self.eos_id:
                break
            if i != self.pad_id:
                out.append(self.words[i])
        return " ".join(out)


@dataclass
class CaptionedImages:
    """A captioned image set.

    Attributes:
        images: ``(N, 3, 28, 56)`` float RGB in ``[0, 1]``.
        captions: ``N`` strings; tokens: ``(N, context)`` ids of :attr:`vocab`.
        kind: ``(N,)`` index into :data:`KINDS`.
        attrs: ``(N, 4)``: left class, left colour, right class, right colour (class ``-1`` =
            empty, colour ``0`` = grey, ``c >= 1`` = ``colours[c - 1]``).
        classes, colours: the names; vocab: the :class:`CaptionVocab`.
    """

    images: Tensor
    captions: list[str]
    tokens: Tensor
    kind: Tensor
    attrs: Tensor
    classes: tuple[str, ...]
    colours: tuple[str, ...]
    vocab: CaptionVocab

    def __len__(self) -> int:
        return len(self.captions)


def held_out_pairs(num_classes: int, num_colours: int) -> set[tuple[int, int]]:
    """The ``(class, colour)`` pairs kept out of training: class ``k`` in colour
    ``k mod num_colours + 1`` (one colour per class, every colour held out for some class).

    >>> sorted(held_out_pairs(3, 2))
    [(0, 1), (1, 2), (2, 1)]
    """
    return {(k, k % num_colours + 1) for k in range(num_classes)}


def load_caption_source(source: Literal["fashion", "digits"] = "fashion",
                        split: Literal["train", "test"] = "train",
                        root: str | os.PathLike | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Grey items ``(N, 28, 28)`` uint8, labels ``(N,)`` and class words: Fashion-MNIST (the
    Debian package or ``root``) or MNIST's test digits in ``root/mnist_test`` (its first 8000
    digits are ``"train"``, the last 2000 ``"test"``)."""
    from geodl.datasets.images import load_fashion_mnist, load_mnist

    check_option(source, ["fashion", "digits"], "source")
    check_option(split, ["train", "test"], "split")
    if source == "fashion":
        images, labels = load_fashion_mnist(root, split)
        return images, labels, FASHION_WORDS
    images, labels = load_mnist(root, "test")
    part = slice(0, 8000) if split == "train" else slice(8000, None)
    return images[part], labels[part], DIGIT_WORDS


def compose(items: Tensor, colours: Tensor, palette: Tensor) -> Tensor:
    """Tint grey ``items (N, 2, 28, 28)`` (uint8 or float) by ``palette[colours] (N, 2)`` and
    place them side by side: ``(N, 3, 28, 56)``. Colour 0 is grey (white tint)."""
    x = items.float() / 255 if items.dtype == torch.uint8 else items.float()  # (N, 2, 28, 28)
    tint = palette[colours]  # (N, 2, 3)
    rgb = x[:, :, None] * tint[..., None, None]  # (N, 2, 3, 28, 28)
    return torch.cat([rgb[:, 0], rgb[:, 1]], dim=-1)  # (N, 3, 28, 56)


def _caption(kind: str, a: tuple[int, int], b: tuple[int, int], left_first: bool,
             classes, colours) -> str:
    def obj(cls, col):
        return f"a {classes[cls]}" if col == 0 else f"a {colours[col - 1]} {classes[cls]}"

    if kind != "relation":
        return obj(*a)
    side = "left" if left_first else "right"  # where the first-named object a stands
    return f"{obj(*a)} to the {side} of {obj(*b)}"


def make_captioned_images(images: Tensor, labels: Tensor, n: int, *, classes: tuple[str, ...],
                          colours: tuple[str, ...] = ("red", "green", "blue"),
                          use_classes: tuple[int, ...] | None = None,
                          kinds: tuple[str, ...] = KINDS,
                          split: Literal["seen", "held_out"] = "seen",
                          held_out: set[tuple[int, int]] | None = None,
                          context: int = 12, seed: int = 0) -> CaptionedImages:
    """``n`` captioned canvases drawn from real grey ``images (M, 28, 28)`` with ``labels``.

    Args:
        classes: the class words (index = label); colours: colour words of :data:`COLOURS`.
        use_classes: the labels used (default all).
        kinds: the caption types drawn (uniformly); ``"held_out"`` ignores ``"class"``.
        split: ``"seen"`` never shows a held-out pair; ``"held_out"`` always names one.
        held_out: the held-out ``(class, colour)`` pairs (default :func:`held_out_pairs`,
            with classes counted in ``use_classes`` order).
        context: text tokens per caption (<eos> and padding included).
        seed: the draw is a function of the seed.
    """
    check_positive_int(n, "n")
    check_option(split, ["seen", "held_out"], "split")
    for k in kinds:
        check_option(k, KINDS, "kinds")
    for c in colours:
        check_option(c, list(COLOURS), "colours")
    use = list(range(len(classes)) if use_classes is None else use_classes)
    if held_out is None:
        held_out = {(use[i], c) for i, c in held_out_pairs(len(use), len(colours))}
    kinds = [k for k in kinds if k != "class"] if split == "held_out" else list(kinds)
    if not kinds:
        raise ValueError("split='held_out' needs kinds with 'colour' or 'relation' (a 'class' "
                         "caption names no colour, so no held-out pair).")
    gen = torch.Generator().manual_seed(seed)
    by_class = {c: torch.nonzero(labels == c).flatten() for c in use}
    empty = [c for c, idx in by_class.items() if len(idx) == 0]
    if empty:
        raise ValueError(f"use_classes names {empty} but labels has no such items.")

    def rand(k: int) -> int:
        return int(torch.randint(k, (1,), generator=gen))

    def draw_obj(coloured: bool, want_held: bool | None) -> tuple[int, int]:
        while True:
            cls, col = use[rand(len(use))], (1 + rand(len(colours))) if coloured else 0
            if want_held is None or ((cls, col) in held_out) == want_held:
                return cls, col

    vocab = CaptionVocab(classes, colours)
    captions, kind_ids, attrs, items = [], [], [], []
    for _ in range(n):
        kind = kinds[rand(len(kinds))]
        if split == "seen":
            a = draw_obj(kind != "class", False)
            b = draw_obj(True, False)
        elif kind == "colour":
            a, b = draw_obj(True, True), (-1, 0)
        else:  # a relation with at least one held-out pair, either object
            a, b = draw_obj(True, True), draw_obj(True, None)
            if rand(2):
                a, b = b, a
        left_first = bool(rand(2)) if kind == "relation" else True
        captions.append(_caption(kind, a, b, left_first, classes, colours))
        kind_ids.append(KINDS.index(kind))
        left, right = (a, b) if left_first else (b, a)
        if kind != "relation":
            right = (-1, 0)
        attrs.append([left[0], left[1], right[0], right[1]])
        pick = [by_class[c][rand(len(by_class[c]))] if c >= 0 else -1 for c in (left[0], right[0])]
        items.append(torch.stack([images[i] if i >= 0 else torch.zeros_like(images[0])
                                  for i in pick]))
    attrs_t = torch.tensor(attrs)
    palette = torch.tensor([(1.0, 1.0, 1.0)] + [COLOURS[c] for c in colours])
    canvas = compose(torch.stack(items), attrs_t[:, [1, 3]], palette)
    return CaptionedImages(canvas, captions, vocab.encode_all(captions, context),
                           torch.tensor(kind_ids), attrs_t, tuple(classes), tuple(colours), vocab)

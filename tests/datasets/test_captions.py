"""Captioned canvases: vocabulary errors, captions that match the pixels, held-out pairs."""

import pytest
import torch

from geodl.datasets.captions import (
    COLOURS,
    DIGIT_WORDS,
    CaptionVocab,
    compose,
    held_out_pairs,
    load_caption_source,
    make_captioned_images,
)
from geodl.datasets.images import FASHION_MNIST_SYSTEM_DIR

WORDS = ("top", "trouser", "bag")


def _items():
    """Three grey 'classes' of 28 x 28 items, five of each: class k has grey level 50 * (k+1)."""
    labels = torch.arange(3).repeat_interleave(5)
    images = (50 * (labels + 1)).to(torch.uint8)[:, None, None].expand(15, 28, 28).clone()
    return images, labels


def test_vocab_round_trip_and_clear_errors():
    vocab = CaptionVocab(WORDS, ("red", "blue"))
    ids = vocab.encode("a red bag to the left of a blue top", 12)
    assert ids.shape == (12,) and ids[10] == vocab.eos_id and ids[11] == vocab.pad_id
    assert vocab.decode(ids) == "a red bag to the left of a blue top"
    with pytest.raises(ValueError, match=r"unknown word\(s\) \['sneaker'\]"):
        vocab.encode("a red sneaker", 12)
    with pytest.raises(ValueError, match="<eos> = 4 tokens > the context of 3"):
        vocab.encode("a red bag", 3)
    with pytest.raises(ValueError, match=r"unknown word\(s\) \['<pad>'\]"):
        vocab.encode("a <pad>", 12)


def test_captions_match_the_attributes_and_the_pixels():
    images, labels = _items()
    colours = ("red", "blue")
    d = make_captioned_images(images, labels, 300, classes=WORDS, colours=colours, seed=3)
    assert d.images.shape == (300, 3, 28, 56) and d.tokens.shape == (300, 12)
    for cap, (lc, lcol, rc, rcol), kind in zip(d.captions, d.attrs.tolist(), d.kind.tolist()):
        if kind == 0:
            assert cap == f"a {WORDS[lc]}" and lcol == 0 and rc == -1
        elif kind == 1:
            assert cap == f"a {colours[lcol - 1]} {WORDS[lc]}" and rc == -1
        else:
            left, right = f"a {colours[lcol - 1]} {WORDS[lc]}", f"a {colours[rcol - 1]} {WORDS[rc]}"
            assert cap in (f"{left} to the left of {right}", f"{right} to the right of {left}")
            assert cap.split(" to the ")[0] in (left if "left of" in cap else right,)
    # pixels: the left half is the class's grey level times the colour's tint
    palette = torch.tensor([(1.0, 1.0, 1.0)] + [COLOURS[c] for c in colours])
    for img, (lc, lcol, rc, rcol) in zip(d.images[:20], d.attrs[:20].tolist()):
        expect = 50 * (lc + 1) / 255 * palette[lcol]
        assert torch.allclose(img[:, 5, 5], expect, atol=1e-6)
        right = img[:, 5, 33]
        assert torch.allclose(right, torch.zeros(3) if rc < 0 else
                              50 * (rc + 1) / 255 * palette[rcol], atol=1e-6)


def test_held_out_pairs_are_never_seen_and_always_named():
    images, labels = _items()
    held = held_out_pairs(3, 2)
    seen = make_captioned_images(images, labels, 300, classes=WORDS, colours=("red", "blue"))
    out = make_captioned_images(images, labels, 300, classes=WORDS, colours=("red", "blue"),
                                split="held_out")
    pairs = [{(a[0], a[1]), (a[2], a[3])} for a in seen.attrs.tolist()]
    assert not any(p & held for p in pairs)
    assert all({(a[0], a[1]), (a[2], a[3])} & held for a in out.attrs.tolist())
    assert set(out.kind.tolist()) == {1, 2}  # no class-only captions: they name no colour


def test_same_seed_same_set_and_bad_arguments():
    images, labels = _items()
    a = make_captioned_images(images, labels, 20, classes=WORDS, seed=5)
    b = make_captioned_images(images, labels, 20, classes=WORDS, seed=5)
    assert a.captions == b.captions and torch.equal(a.images, b.images)
    with pytest.raises(ValueError, match="colours='purple' is not a valid option"):
        make_captioned_images(images, labels, 5, classes=WORDS, colours=("purple",))
    with pytest.raises(ValueError, match="needs kinds with 'colour' or 'relation'"):
        make_captioned_images(images, labels, 5, classes=WORDS, kinds=("class",),
                              split="held_out")
    with pytest.raises(ValueError, match="no such items"):
        make_captioned_images(images, labels, 5, classes=WORDS + ("coat",), use_classes=(3,))


def test_compose_tints_and_places_side_by_side():
    items = torch.full((1, 2, 28, 28), 255, dtype=torch.uint8)
    out = compose(items, torch.tensor([[1, 0]]), torch.tensor([[1.0, 1, 1], [1.0, 0, 0]]))
    assert torch.equal(out[0, :, 0, 0], torch.tensor([1.0, 0, 0]))
    assert torch.equal(out[0, :, 0, 40], torch.ones(3))


def test_mnist_digits_from_the_shared_data(shared_data):
    images, labels, words = load_caption_source("digits", "test", shared_data("mnist_test"))
    assert images.shape == (2000, 28, 28) and words == DIGIT_WORDS
    d = make_captioned_images(images, labels, 10, classes=words, seed=0)
    assert all(w in words or w in CaptionVocab(words, ("red", "green", "blue")).index
               for c in d.captions for w in c.split())


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_canvases():
    images, labels, words = load_caption_source("fashion", "test")
    d = make_captioned_images(images, labels, 50, classes=words, use_classes=(7, 8), seed=0)
    assert set(d.attrs[:, 0].tolist()) <= {7, 8} and "sneaker" in " ".join(d.captions)

import pytest
import torch

from geodl.datasets.text import CharVocab, load_sentiment, load_tinyshakespeare


def test_tinyshakespeare_counts_and_split(shared_data):
    corpus = load_tinyshakespeare(shared_data("tinyshakespeare"))
    # shared/data/tinyshakespeare/SOURCE.md and nanoGPT's prepare.py: 1,115,394 chars, 65 symbols
    assert len(corpus.text) == 1_115_394 and len(corpus.vocab) == 65
    assert corpus.train.numel() == int(0.9 * 1_115_394) == 1_003_854
    assert corpus.train.numel() + corpus.val.numel() == len(corpus.text)
    assert corpus.train.dtype == torch.long
    # the split is the leading 90%, and decoding gives the text back
    assert corpus.vocab.decode(corpus.train[:20]) == corpus.text[:20]
    assert corpus.vocab.decode(corpus.val[-20:]) == corpus.text[-20:]
    assert corpus.vocab.chars == tuple(sorted(set(corpus.text)))


def test_tinyshakespeare_fraction_checked(shared_data):
    with pytest.raises(ValueError, match="train_fraction"):
        load_tinyshakespeare(shared_data("tinyshakespeare"), train_fraction=1.0)


def test_sentiment_counts(shared_data):
    data = load_sentiment(shared_data("sentiment_labelled_sentences"))
    assert len(data.sentences) == len(data.sources) == data.labels.numel() == 3000
    for source in ("amazon", "imdb", "yelp"):  # SOURCE.md: 500 / 500 in each file
        labels = data.labels[[s == source for s in data.sources]]
        assert labels.numel() == 1000 and int(labels.sum()) == 500
    # no CSV quoting: IMDb's double quotes stay inside their sentence, lines do not merge
    assert any('"' in s for s in data.sentences)
    assert all("\t" not in s and "\n" not in s for s in data.sentences)


def test_sentiment_one_source(shared_data):
    data = load_sentiment(shared_data("sentiment_labelled_sentences"), sources=["yelp"])
    assert set(data.sources) == {"yelp"} and len(data.sentences) == 1000
    with pytest.raises(ValueError, match="sources='twitter'"):
        load_sentiment(shared_data("sentiment_labelled_sentences"), sources=["twitter"])


def test_missing_files_name_the_path_and_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="tinyshakespeare.*char-rnn"):
        load_tinyshakespeare(tmp_path)
    with pytest.raises(FileNotFoundError, match="sentiment_labelled_sentences.*uci"):
        load_sentiment(tmp_path)


def test_sentiment_bad_line(tmp_path):
    folder = tmp_path / "sentiment_labelled_sentences"
    folder.mkdir()
    (folder / "yelp_labelled.txt").write_text("good food\t1\nno label here\n")
    with pytest.raises(ValueError, match="yelp_labelled.txt:2"):
        load_sentiment(tmp_path, sources=["yelp"])


def test_char_vocab_specials_and_unknown():
    v = CharVocab.from_text("ba", specials=("[PAD]", "[MASK]", "[UNK]"), unk="[UNK]")
    assert len(v) == 5 and v.id("a") == 3 and v.id("[MASK]") == 1
    assert v.encode("abz").tolist() == [3, 4, 2]
    assert v.decode([1, 3]) == "[MASK]a"
    with pytest.raises(KeyError, match="unk="):
        CharVocab.from_text("ab").encode("abc")
    with pytest.raises(ValueError, match="distinct"):
        CharVocab(("a", "a"))
    with pytest.raises(ValueError, match="unk='<unk>'"):
        CharVocab(("a",), ("[PAD]",), unk="<unk>")

"""Tests of geodl.viz.curves.plot_history on the History of real fit() runs."""

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from geodl.datasets import load_karate  # noqa: E402
from geodl.models.autoencoder import GAE  # noqa: E402
from geodl.tasks.link import LinkPrediction, edge_split  # noqa: E402
from geodl.tasks.loop import History, fit  # noqa: E402
from geodl.viz.curves import plot_history  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def history():
    task = LinkPrediction(edge_split(load_karate(), val=0.1, test=0.2, seed=0))
    torch.manual_seed(0)
    return fit(GAE(34, 16, 8), task, epochs=12, progress=False)


def line(ax, label):
    (found,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return found


def test_one_panel_per_metric_with_the_history_curves(history):
    fig = plot_history(history)
    loss, auc, ap = fig.axes
    assert [a.get_title().split(" (")[0] for a in fig.axes] == ["loss", "val auc", "val ap"]
    x, y = line(loss, "train").get_data()
    np.testing.assert_array_equal(x, np.arange(1, 13))
    np.testing.assert_allclose(y, history.train_loss)
    np.testing.assert_allclose(line(loss, "val").get_ydata(), history.val["loss"])
    np.testing.assert_allclose(line(ap, "val").get_ydata(), history.val["ap"])
    best = history.best_epoch + 1  # 1-based on the x axis
    for a in fig.axes:
        assert list(line(a, "best epoch").get_xdata()) == [best, best]
    (dot,) = [ln for ln in auc.get_lines() if ln.get_marker() == "o"]  # on the monitored curve
    assert list(dot.get_xdata()) == [best] and list(dot.get_ydata()) == [history.best]
    assert f"at epoch {best}" in auc.get_title() and "at epoch" not in ap.get_title()


def test_chosen_metrics_given_axes_dict_input_and_png(history, tmp_path):
    fig, axes = plt.subplots(1, 2)
    out = plot_history(history.to_dict(), metrics=["auc", "loss"], ax=axes, logy=True,
                       title="GAE on karate", path=tmp_path / "curves.png")
    assert out is fig and axes[1].get_yscale() == "log" and axes[0].get_yscale() == "linear"
    assert fig._suptitle.get_text() == "GAE on karate"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # written atomically: no temporary file is left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    single = plt.subplots()[1]
    assert plot_history(history, metrics=["ap"], ax=single) is single.figure


def test_without_validation_the_train_loss_is_marked():
    h = History(train_loss=[3.0, 1.0, 2.0], best_epoch=1)  # fit's record without a val split
    (loss,) = plot_history(h).axes
    (dot,) = [ln for ln in loss.get_lines() if ln.get_marker() == "o"]
    assert list(dot.get_ydata()) == [1.0] and loss.get_title() == "loss (best 1 at epoch 2)"
    assert [ln.get_label() for ln in loss.get_lines()[:2]] == ["train", "best epoch"]


def test_bad_input_names_the_fix(history):
    with pytest.raises(ValueError, match=r"\['f1'\] not in the history.*\['ap', 'auc', 'loss'\]"):
        plot_history(history, metrics=["f1"])
    with pytest.raises(ValueError, match="ax holds 1 Axes for 3 metrics"):
        plot_history(history, ax=plt.subplots()[1])
    with pytest.raises(TypeError, match="history must be a geodl.tasks.History"):
        plot_history([0.1, 0.2])

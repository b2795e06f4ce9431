"""The suite registry: names, selection, quick settings, expected run times."""

import json

import pytest

from geodl.bench.suites import SUITES, Experiment, Suite, get_suite, register

REQUIRED = ("quick", "planetoid", "tu", "moleculenet", "sbm", "speed")


def test_required_suites_are_registered():
    assert set(REQUIRED) <= set(SUITES)
    for suite in SUITES.values():
        assert suite.experiments and suite.description
        for e in suite.experiments:
            # geodl, then its peer (the report's "peer" column); further peers (the diffusion
            # suite's diffusers UNet2DModel) appear in the time, params and metrics cells
            assert e.impls[0] == "geodl" and len(e.impls) >= 2
            json.dumps(e.config)  # recorded in the database as JSON
            assert e.seeds >= 1 and e.seconds > 0


def test_unknown_suite_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown suite 'nope'; choose one of .*tu.*quick"):
        get_suite("nope")


def test_select_models_by_name_or_key_and_unknown_names():
    suite = SUITES["planetoid"]
    assert [e.key for e in suite.select(["GAT"])] == ["GAT/Cora"]
    assert [e.key for e in suite.select(["GCN/CiteSeer"])] == ["GCN/CiteSeer"]
    assert len(suite.select(None)) == len(suite.experiments)
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['GIN'\].*GCN, GAT, GCN/Cora"):
        suite.select(["GIN"])


def test_quick_overrides_merge_fit_settings_and_scale_expected_time():
    gat = SUITES["planetoid"].select(["GAT"])[0]
    quick = gat.quickened()
    assert quick.config["fit"] == {**gat.config["fit"], "epochs": 200, "patience": 50}
    assert quick.config["quick"] is True and "quick" not in gat.config
    assert quick.seeds == 2 and quick.seconds == pytest.approx(gat.seconds * 200 / 1000)
    assert gat.expected_seconds() == gat.seconds * 2 * gat.seeds


def test_quick_suite_is_a_few_minutes_and_sbm_labels_its_small_variant():
    assert SUITES["quick"].expected_seconds() < 6 * 60
    names = SUITES["sbm"].datasets
    assert "PATTERN-small" in names and "PATTERN-full" in names
    assert "small" in SUITES["sbm"].description


def test_register_adds_a_suite(monkeypatch):
    monkeypatch.setattr("geodl.bench.suites.SUITES", dict(SUITES))
    from geodl.bench import suites

    e = Experiment("D", "M", trial=lambda *a: None, impls=("geodl", "torch"))
    register(Suite("mine", "one row", (e,)))
    assert suites.get_suite("mine").models == ["M"]

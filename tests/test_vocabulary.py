"""One name per thing, and tables written under an older name still read: the people-vs-networks
tables' ``unit`` (a participants' group) is ``group``, the networks' choice tables' ``network_scale``
is ``scale``; ``unit`` stays a hidden unit where it is one. Domain code names a setting as the code does
(``scales``); the command line words it as its option (``--scales``)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from garden.cli import as_options
from garden.core.errors import SettingError
from garden.core.task import item_table
from garden.core.trials import read_trials, write_table
from garden.modeling.networks.config import SweepConfig
from garden.reports.figures.people_vs_networks import similarity_by_scale
from garden.reports.html import load_tables


def _write(folder, name: str, table: pd.DataFrame) -> None:
    table.to_csv(folder / f"{name}.tsv", sep="\t", index=False)


def test_older_people_vs_networks_tables_are_read_with_group_and_drawn(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    _write(tables, "similarity_profile", pd.DataFrame(
        {"unit": ["blocked"] * 2 + ["interleaved"] * 2, "scale": [0.01, 3.0] * 2,
         "similarity": [0.2, 0.5, 0.4, 0.1], "ci_low": 0.0, "ci_high": 0.6}))
    _write(tables, "best_scale_bootstrap", pd.DataFrame(
        {"unit": ["blocked", "interleaved"], "best_scale": [3.0, 0.01], "fraction": [0.9, 0.8]}))
    _write(tables, "network_weights", pd.DataFrame({"scale": 0.01, "seed": 0, "unit": [0, 1], "w_north": [0.5, -0.5]}))
    loaded = load_tables(tmp_path)
    assert loaded["similarity_profile"].columns.tolist() == ["group", "scale", "similarity", "ci_low", "ci_high"]
    assert loaded["best_scale_bootstrap"]["group"].tolist() == ["blocked", "interleaved"]
    assert loaded["network_weights"]["unit"].tolist() == [0, 1]  # a hidden unit keeps its name
    fig = similarity_by_scale(loaded["similarity_profile"], loaded["best_scale_bootstrap"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["blocked", "interleaved"]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.2, 0.5])


def test_an_older_network_choice_table_is_read_with_scale_and_ctx_scale(tmp_path):
    items = item_table().drop(columns=["context_index", "category"])
    trials = items.assign(participant_id="P1N0", session=1, block=1, trial=np.arange(1, 51), exemplar="1",
                          phase="test", choice=(items.reward_value > 0).astype(float), rt=np.nan,
                          source_participant_id="P1", network_scale=0.01, network_ctx_scale=0.5, network_seed=3)
    table = read_trials(write_table(trials, tmp_path / "choices.tsv"))
    assert {"scale", "ctx_scale", "network_seed"} <= set(table.columns)
    assert not {"network_scale", "network_ctx_scale"} & set(table.columns)
    assert table["scale"].unique().tolist() == [0.01] and table["ctx_scale"].unique().tolist() == [0.5]
    assert table["choice"].sum() == (items.reward_value > 0).sum()


def test_a_setting_is_named_by_the_code_and_worded_as_an_option_on_the_command_line():
    with pytest.raises(SettingError, match=r"^scales: init scales and ctx_scales must pair up: got 2 scales and 1 "):
        SweepConfig(scales=(0.01, 3.0), ctx_scales=(0.5,))
    both = argparse.Namespace(scales=(0.01, 3.0), ctx_scales=(0.5,))
    error = as_options(SettingError("scales", "init scales and {ctx_scales} must pair up"), both)
    assert str(error) == "--scales: init scales and --ctx-scales must pair up"
    alone = as_options(SettingError("posterior", "needs {objective} bernoulli"), argparse.Namespace(posterior=True))
    assert str(alone) == "--posterior: needs objective bernoulli"  # no --objective option: the setting's name

"""The neural path speaks the project's vocabulary: participant_id ("sub-01") and an int session;
tables written by older versions (a ``subject`` column) are read under the new name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from garden.analysis.neural.bids import session_number
from garden.analysis.neural.rdms import read_roi_rdms
from garden.core.errors import UserError
from garden.reports.html import load_tables


def test_session_labels_become_int_sessions(tmp_path):
    assert session_number("ses-2", tmp_path) == 2
    assert session_number("ses-010", tmp_path) == 10
    assert session_number("", tmp_path) is None
    with pytest.raises(UserError, match=r"x\.tsv: session label 'ses-pre' is not a number"):
        session_number("ses-pre", tmp_path / "x.tsv")


def test_roi_rdms_carry_participant_id_and_int_session(tmp_path):
    rng = np.random.default_rng(0)
    for pid, folder in (("01", "sub-01/ses-2/func"), ("02", "sub-02/func")):
        (tmp_path / folder).mkdir(parents=True)
        stem = f"sub-{pid}_ses-2" if "ses" in folder else f"sub-{pid}"
        rdm = rng.random((50, 50))
        np.fill_diagonal(rdm, 0.0)
        name = f"{stem}_task-garden_roi-rich_desc-crossnobis_rdm.tsv"
        pd.DataFrame((rdm + rdm.T) / 2).to_csv(tmp_path / folder / name, sep="\t", index=False)
    found = read_roi_rdms(tmp_path).rdm_descriptors
    assert list(found.columns) == ["participant_id", "session", "roi", "method"]
    assert found["participant_id"].tolist() == ["sub-01", "sub-02"]
    assert found["session"].tolist()[0] == 2 and pd.isna(found["session"].tolist()[1])


def test_an_older_neural_table_is_read_under_the_new_column_name(tmp_path):
    (tmp_path / "tables").mkdir()
    pd.DataFrame({"subject": ["sub-01", "sub-02"], "accuracy": [0.75, 0.5]}).to_csv(
        tmp_path / "tables" / "neural_accuracy.tsv", sep="\t", index=False)
    table = load_tables(tmp_path)["neural_accuracy"]
    assert table.columns.tolist() == ["participant_id", "accuracy"]
    assert table["participant_id"].tolist() == ["sub-01", "sub-02"] and table["accuracy"].tolist() == [0.75, 0.5]

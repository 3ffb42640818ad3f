"""The trial-table contract: valid tables round-trip exactly; any malformed table gives clean errors."""

from __future__ import annotations

import gzip
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garden.core.provenance import read_session_record
from garden.core.errors import UserError
from garden.core.trials import (
    REQUIRED,
    TrialTableError,
    check_participant_id,
    format_value,
    invalid_cells,
    participant_columns,
    read_trials,
    session_path,
    to_tsv_text,
    write_table,
)
from garden.cli import main

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ids = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)


@st.composite
def trial_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    pid = draw(ids)
    gardens = draw(st.sampled_from([("north", "south"), ("blue", "orange")]))  # the contract: two contexts
    choice = draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n, max_size=n))
    rt = [np.nan if np.isnan(c) else draw(st.floats(0.05, 5.0)) for c in choice]
    return pd.DataFrame({
        "participant_id": [pid] * n,
        "session": draw(st.integers(1, 9)),
        "phase": draw(st.lists(st.sampled_from(["training", "main", "test", "scan phase"]), min_size=n, max_size=n)),
        "block": draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)),
        "trial": np.arange(1, n + 1),
        "context": draw(st.lists(st.sampled_from(gardens), min_size=n, max_size=n)),
        "branchiness": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
        "leafiness": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
        "exemplar": draw(st.lists(st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=3),
                                  min_size=n, max_size=n)),
        "reward_value": draw(st.lists(st.sampled_from([-50.0, -25.0, 0.0, 25.0, 50.0, 12.5]), min_size=n, max_size=n)),
        "choice": choice,
        "rt": rt,
        "group": draw(st.sampled_from(["blocked", "interleaved"])),
        "note": draw(st.lists(st.text("abcé ü", max_size=5), min_size=n, max_size=n)),
    })


@SETTINGS
@given(table=trial_tables())
def test_valid_tables_round_trip_exactly(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("rt") / "t.tsv"
    write_table(table, path)
    back = read_trials(path)
    for column in REQUIRED:
        np.testing.assert_array_equal(back[column].to_numpy(), table[column].to_numpy(), err_msg=column)
    assert list(back.group) == list(table.group)
    notes = table.note.where(table.note.str.strip() != "", "")  # a cell of spaces is blank (core.text_tables)
    assert list(back.note) == list(notes)
    assert participant_columns(back) == ["group"] + (["note"] if notes.nunique() <= 1 else [])



@SETTINGS
@given(numbers=st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-0.0, 2.0**53, -(2.0**53), 2.0**53 - 1, 1e16, 0.1 + 0.2, 5e-324, 3.0, -7.0]), min_size=1, max_size=40),
    words=st.lists(st.sampled_from(["a", "", "b c", 'say "hi"', "tab\there", None]), min_size=40, max_size=40))
def test_tables_are_written_cell_by_cell_as_format_value_says(numbers, words):
    """The column-at-a-time writer gives each cell exactly ``format_value``'s text, in the csv module's quoting."""
    table = pd.DataFrame({"x": np.array(numbers, float), "k": np.arange(len(numbers)),
                          "w": words[:len(numbers)], "few": ([1.5, None] * 40)[:len(numbers)]})
    expected = pd.DataFrame({c: [format_value(v) for v in table[c]] for c in table})
    assert to_tsv_text(table) == expected.to_csv(sep="\t", index=False, lineterminator="\n")


@SETTINGS
@given(cells=st.lists(st.sampled_from(["1", "0", " 2 ", "1.0", "0.5", "-3", "", "n/a", "NaN", "abc", "1e999", "P01"]),
                      min_size=1, max_size=12, unique=True),
       column=st.sampled_from(["choice", "branchiness", "rt", "session", "participant_id", "context"]))
def test_a_long_column_is_checked_as_its_cells_one_by_one(cells, column):
    """A column of repeated cells (parsed once per distinct cell) is judged as its distinct cells are alone."""
    once = invalid_cells(pd.Series(cells, dtype=object), column)
    np.testing.assert_array_equal(invalid_cells(pd.Series(cells * 3, dtype=object), column), np.tile(once, 3))

CORRUPTIONS = {
    "wrong type": lambda t: t.assign(session=t.session.astype(object).where(t.index != 0, "first")),
    "level out of range": lambda t: t.assign(branchiness=t.branchiness.where(t.index != 0, 6)),
    "choice not binary": lambda t: t.assign(choice=t.choice.where(t.index != 0, 2.0)),
    "negative rt": lambda t: t.assign(rt=t.rt.where(t.index != 0, -0.3)),
    "missing column": lambda t: t.drop(columns=["leafiness"]),
    "bad participant id": lambda t: t.assign(participant_id="../evil"),
    "duplicated trial": lambda t: pd.concat([t, t.iloc[[0]]]),
    "empty phase": lambda t: t.assign(phase=t.phase.where(t.index != 0, "")),
}


@SETTINGS
@given(table=trial_tables(), corruption=st.sampled_from(sorted(CORRUPTIONS)))
def test_malformed_tables_give_clean_errors(tmp_path_factory, capsys, table, corruption):
    path = tmp_path_factory.mktemp("bad") / "t.tsv"
    path.write_text(to_tsv_text(CORRUPTIONS[corruption](table)), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err


@SETTINGS
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(tmp_path_factory, capsys, payload):
    path = tmp_path_factory.mktemp("junk") / "t.csv"
    path.write_bytes(payload)
    assert main(["validate", str(path)]) == 1
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    ("participant_id,session\nP1,1,extra\n".encode(), "has 3 fields but the header has 2"),
])
def test_specific_messages(tmp_path, capsys, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_problem_line_names_file_line_column_value(tmp_path, capsys):
    table = pd.DataFrame({c: [1] for c in REQUIRED} | {"participant_id": ["P1"], "phase": ["main"],
                                                        "context": ["north"], "exemplar": ["a"]})
    table = pd.concat([table.assign(trial=1), table.assign(trial=2, leafiness=9)])
    path = tmp_path / "t.tsv"
    path.write_text(to_tsv_text(table))
    assert main(["validate", str(path)]) == 1
    assert f"{path}:3: column 'leafiness' value '9': expected an integer 1..5" in capsys.readouterr().err


def test_gzip_csv_and_folder_reading(tmp_path):
    table = pd.DataFrame({c: [1, 1] for c in REQUIRED} | {"participant_id": ["P1", "P1"], "phase": ["main"] * 2,
                                                           "context": ["north"] * 2, "exemplar": ["a"] * 2,
                                                           "trial": [1, 2]})
    (tmp_path / "a").mkdir()
    with gzip.open(tmp_path / "a" / "t.csv.gz", "wt") as fh:
        fh.write(table.to_csv(index=False))
    assert len(read_trials(tmp_path)) == 2
    with pytest.raises(TrialTableError, match="more than once|duplicated trial"):
        (tmp_path / "b.tsv").write_text(to_tsv_text(table))
        read_trials(tmp_path)


@SETTINGS
@given(pid=st.text(min_size=0, max_size=12))
def test_participant_ids_with_unsafe_characters_are_rejected(pid):
    if pid and all(c in string.ascii_letters + string.digits for c in pid):
        assert session_path("root", pid, 1).parts[1] == f"sub-{pid}"
    else:
        with pytest.raises(UserError, match="letters and digits"):
            check_participant_id(pid)


@pytest.mark.parametrize("pid", ["../x", "a/b", "a.b", "a b", "a;rm", "$(x)", "é", ""])
def test_unsafe_ids_rejected_by_import(tmp_path, capsys, pid):
    src = tmp_path / "src.csv"
    pd.DataFrame({c: [1] for c in REQUIRED} | {"participant_id": [pid], "phase": ["main"], "context": ["north"],
                                               "exemplar": ["a"]}).to_csv(src, index=False)
    assert main(["import", str(src), "--out", str(tmp_path / "out")]) != 0
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_write_never_overwrites(tmp_path):
    table = pd.DataFrame({c: [1] for c in REQUIRED} | {"participant_id": ["P1"], "phase": ["m"], "context": ["n"],
                                                       "exemplar": ["a"]})
    write_table(table, tmp_path / "t.tsv")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_table(table, tmp_path / "t.tsv")


@SETTINGS
@pytest.mark.slow
@given(table=trial_tables(), bad=st.lists(st.sampled_from(["-0.4", "-3.881", "abc", "inf", "1e999"]), min_size=1,
                                          max_size=5))
def test_blank_invalid_imports_bad_rts_as_missing_and_keeps_the_raw_text(tmp_path_factory, capsys, table, bad):
    tmp = tmp_path_factory.mktemp("blank")
    src = tmp / "src.tsv"
    text = table.astype(object).where(table.notna(), "")
    rows = list(range(min(len(bad), len(text))))
    text.loc[rows, "rt"] = bad[:len(rows)]
    text.to_csv(src, sep="\t", index=False)
    assert main(["import", str(src), "--out", str(tmp / "refused")]) == 2
    assert "fix: correct the source, or add --blank-invalid rt" in capsys.readouterr().err
    assert not (tmp / "refused").exists()
    assert main(["import", str(src), "--out", str(tmp / "out"), "--blank-invalid", "rt"]) == 0
    imported = read_trials(tmp / "out")
    assert imported.rt.iloc[rows].isna().all()
    kept = imported.rt_invalid.iloc[rows].tolist()
    assert all(str(k) == b or float(k) == float(b) for k, b in zip(kept, bad)), (kept, bad)  # 1e999 reads as inf
    assert imported.rt_invalid.iloc[len(rows):].isna().all() or imported.rt_invalid.iloc[len(rows):].eq("").all()
    sidecar = read_session_record(next((tmp / "out").rglob("*_beh.json")))
    assert sidecar["blanked_invalid"] == {"rt": len(rows)}
    np.testing.assert_array_equal(imported.rt.iloc[len(rows):], table.rt.iloc[len(rows):])


def test_blank_invalid_refuses_columns_that_may_not_be_empty(tmp_path, capsys):
    src = tmp_path / "src.csv"
    pd.DataFrame({c: [1] for c in REQUIRED} | {"participant_id": ["P1"], "phase": ["main"], "context": ["north"],
                                               "exemplar": ["a"], "trial": [-1]}).to_csv(src, index=False)
    assert main(["import", str(src), "--out", str(tmp_path / "out")]) == 2
    assert "--blank-invalid" not in capsys.readouterr().err  # trial may not be empty: no such fix offered
    assert main(["import", str(src), "--out", str(tmp_path / "out"), "--blank-invalid", "trial"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"garden import: error: {src}: --blank-invalid trial: the contract does not let 'trial' be empty; "
                   "correct those values in the source table")
    assert main(["import", str(src), "--out", str(tmp_path / "out"), "--blank-invalid", "rtt"]) == 2
    assert "names column 'rtt' that the table does not have" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_import_published_negative_rts_as_missing(flesch2018, tmp_path, capsys):
    args = ["import", str(flesch2018 / "exp1b_trials.csv.gz"), "--map",
            "participant=participant_id,choice_model=choice,rt_s=rt", "--set", "session=1", "--out", str(tmp_path)]
    assert main(args) == 2 and "and 11 more" in capsys.readouterr().err  # 12 negative RTs
    assert main([*args, "--blank-invalid", "rt"]) == 0
    table = read_trials(tmp_path)
    assert len(table) == 99600 and table.rt_invalid.notna().sum() == 12
    assert set(table.participant_id[table.rt_invalid.notna()]) == {"e1b072"}
    assert (table.rt_invalid.dropna() < 0).all() and table.rt.isna().sum() == table.rt_invalid.notna().sum() + (
        pd.read_csv(flesch2018 / "exp1b_trials.csv.gz").rt_s.isna().sum())


def test_a_results_table_read_again_is_a_fresh_copy_and_follows_its_file(tmp_path):
    """read_text_table keeps small tables by their bytes: a caller that changes its copy changes nothing the next
    reader sees, and a rewritten file is read anew."""
    from garden.core.text_tables import read_text_table

    path = tmp_path / "fits.tsv"
    path.write_text("participant_id\tnll\nP001\t1.5\nP002\t2.5\n", encoding="utf-8")
    first = read_text_table(path)
    first.loc[0, "nll"] = 99.0
    assert read_text_table(path)["nll"].tolist() == [1.5, 2.5]
    path.write_text("participant_id\tnll\nP001\t3.5\nP002\t2.5\n", encoding="utf-8")
    assert read_text_table(path)["nll"].tolist() == [3.5, 2.5]
    assert read_text_table(path)["participant_id"].tolist() == ["P001", "P002"]

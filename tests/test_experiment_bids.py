"""The data folders garden writes are valid BIDS (checked by the official validator), and the
readers still accept the files written before (empty cells, nested sidecars, ids without sub-)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from garden.core.provenance import PROVENANCE_KEY
from garden.core.trials import read_trials, session_path
from garden.experiment.config import parse_protocol
from garden.experiment.simulate import simulate_session
from garden.modeling.agents import get_agent
from garden_cli import run_garden

TWO_SESSIONS = {
    "name": "two", "rule_code": 2, "curriculum": "interleaved",
    "phases": [{"name": "training", "session": 1, "trials": 50},
               {"name": "scan", "session": 2, "trials": 100, "runs": 2, "scanner": True, "feedback": False,
                "timing": {"iti_s": 1.0, "iti_max_s": 3.0, "lead_in_s": 4.0, "lead_out_s": 4.0}}],
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Two participants, an online session and a scanner session each (a random agent misses some trials)."""
    out = tmp_path_factory.mktemp("bids") / "participants"
    protocol = parse_protocol(TWO_SESSIONS, "two.toml")
    for pid in ("P001", "P002"):
        for session in (1, 2):
            simulate_session(protocol, pid, session, get_agent("random", {"rt_mean_s": 1.2}), out)
    return out


def test_garden_run_output_is_valid_bids(dataset, bids_errors):
    assert bids_errors(dataset) == []


def test_missing_values_are_n_a_and_every_column_is_described(dataset):
    path = session_path(dataset, "P001", 2)
    text = path.read_text()
    assert "\tn/a" in text and "\t\t" not in text and not any(line.endswith("\t") for line in text.splitlines())
    sidecar = json.loads(path.with_suffix(".json").read_text())
    header = text.splitlines()[0].split("\t")
    assert set(sidecar) == set(header) | {PROVENANCE_KEY}
    assert all("Description" in sidecar[c] for c in header)
    assert sidecar["rt"]["Units"] == "s" and sidecar["choice"]["Levels"] == {"1": "accept (plant)", "0": "reject"}
    assert sidecar[PROVENANCE_KEY]["assignment"]["rule_code"] == 2


def test_participants_have_sub_ids_and_a_data_dictionary(dataset):
    participants = pd.read_csv(dataset / "participants.tsv", sep="\t")
    assert participants.participant_id.tolist() == ["sub-P001", "sub-P002"]
    described = json.loads((dataset / "participants.json").read_text())
    assert set(described) == set(participants.columns)
    assert json.loads((dataset / "dataset_description.json").read_text())["BIDSVersion"]
    assert (dataset / "README").read_text().startswith("garden")


def test_scanner_events_have_responses_sides_and_correctness(dataset):
    func = dataset / "sub-P001" / "ses-2" / "func"
    events = pd.read_csv(func / "sub-P001_ses-2_task-garden_run-1_events.tsv", sep="\t")
    table = read_trials(session_path(dataset, "P001", 2)).query("run == 1")
    trees, responses = events[events.trial_type == "tree"], events[events.trial_type == "response"]
    assert len(trees) == len(table) == 50 and (events.trial_type == "cue").sum() == 50
    assert len(responses) == table.choice.notna().sum() > 0
    answered = table[table.choice.notna()]
    assert responses.onset.to_numpy() == pytest.approx((answered.onset + answered.rt).to_numpy())
    assert (trees.side_accept.to_numpy() == table.side_accept.to_numpy()).all()
    assert trees.correct.fillna(-1).tolist() == table.correct.fillna(-1).tolist()
    for column in ("onset", "duration", "trial_type", "context", "branchiness", "leafiness"):
        assert column in events.columns
    sidecar = json.loads((func / "sub-P001_ses-2_task-garden_run-1_events.json").read_text())
    assert set(sidecar) == set(events.columns) | {PROVENANCE_KEY}
    assert set(sidecar["trial_type"]["Levels"]) == {"cue", "tree", "response", "trigger"}
    plan = sidecar[PROVENANCE_KEY]
    # 4 s lead-in + 50 trials x (1 s cue + 1.5 s tree) + 49 ITIs averaging 2 s + 4 s lead-out = 231 s
    assert plan["planned_duration_s"] == pytest.approx(231.0) and plan["planned_volumes"] == 116
    pulses = events[events.trial_type == "trigger"].onset.to_numpy()
    assert len(pulses) == 116 and pulses == pytest.approx(2.0 * np.arange(116))
    assert (np.diff(events.onset.to_numpy()) >= 0).all()  # one time line


def test_garden_import_output_is_valid_bids(dataset, tmp_path, bids_errors):
    table = read_trials(dataset)
    source = tmp_path / "old_lab.csv"
    table.rename(columns={"participant_id": "subject"}).drop(columns=["onset"]).to_csv(source, index=False)
    out = tmp_path / "imported"
    result = run_garden("import", str(source), "--out", str(out), "--map", "subject=participant_id")
    assert result.returncode == 0, result.stderr
    assert bids_errors(out) == []
    back = read_trials(out)
    assert len(back) == len(table) and back.choice.isna().sum() == table.choice.isna().sum() > 0


def _old_layout(folder: Path) -> None:
    """Rewrite a folder the way garden wrote it before BIDS: empty cells, descriptions nested under
    ``columns`` with the provenance at the top level, participant ids without ``sub-``."""
    for path in folder.rglob("*_beh.tsv"):
        path.write_text(path.read_text().replace("n/a", ""))
        sidecar = json.loads(path.with_suffix(".json").read_text())
        record = {k: v for k, v in sidecar[PROVENANCE_KEY].items() if k != "sidecar_version"}
        record["columns"] = {c: e for c, e in sidecar.items() if c != PROVENANCE_KEY}
        path.with_suffix(".json").write_text(json.dumps(record))
    participants = folder / "participants.tsv"
    participants.write_text(participants.read_text().replace("sub-", ""))
    for name in ("participants.json", "dataset_description.json", "README"):
        (folder / name).unlink()


def test_readers_accept_the_old_layout_and_new_sessions_join_it(tmp_path):
    protocol = parse_protocol(TWO_SESSIONS, "two.toml")
    agent = get_agent("random", {"rt_mean_s": 1.2})
    path = simulate_session(protocol, "P001", 1, agent, tmp_path)
    new = read_trials(path)
    _old_layout(tmp_path)
    old = read_trials(path)
    pd.testing.assert_frame_equal(old, new)
    result = run_garden("validate", str(tmp_path))
    assert result.returncode == 0 and "valid: 50 trials" in result.stdout
    simulate_session(protocol, "P001", 2, agent, tmp_path)  # day 2 reads the old day-1 sidecar
    simulate_session(protocol, "P002", 1, agent, tmp_path)
    participants = pd.read_csv(tmp_path / "participants.tsv", sep="\t")
    assert participants.participant_id.tolist() == ["sub-P001", "sub-P002"]

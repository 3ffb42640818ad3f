"""One sidecar schema with one owner (garden.core.provenance), and unfinished sessions refused by every consumer.

A session killed at a random trial (a real ``garden run`` process, SIGKILL) must be refused by validate,
fit, session-report, train --curriculum and import, each with one line naming the file and
``--include-incomplete``; resumed, every one of them accepts it. No module may read or write a sidecar
around the owner's reader/writer pair.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from garden.cli import main
from garden.core.errors import UserError
from garden.core.provenance import (
    COMPLETE,
    FOREIGN,
    INCOMPLETE,
    PROVENANCE_KEY,
    SIDECAR_VERSION,
    completion,
    read_session_record,
)
from garden.core.trials import read_trials, session_path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "rsa", "stimuli", "experiment", "modeling", "analysis", "reports", "garden")
OWNER = REPO / "core" / "provenance.py"


def _sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py")) if p != OWNER]


def _around_the_owner(path: Path) -> list[str]:
    """Places in ``path`` that parse a sidecar with json/read_json or spell out garden's record key."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and node.value == PROVENANCE_KEY:
            found.append(f"{path.name}:{node.lineno}: the literal {PROVENANCE_KEY!r}")
        if isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func)
            argument = ast.unparse(node.args[0]).lower()
            if name in ("json.load", "json.loads", "read_json") and ("sidecar" in argument or "_beh" in argument
                                                                     or "with_suffix('.json')" in argument):
                found.append(f"{path.name}:{node.lineno}: {name}({ast.unparse(node.args[0])})")
    return found


def test_no_module_reads_a_sidecar_around_its_owner():
    found = [place for path in _sources() for place in _around_the_owner(path)]
    hint = "read sidecars with garden.core.provenance.read_record / read_session_record:\n"
    assert found == [], hint + "\n".join(found)


def test_the_guard_sees_a_reader_that_goes_around_it(tmp_path):
    rogue = tmp_path / "rogue.py"
    rogue.write_text("import json\ninfo = json.loads(sidecar_path(p).read_text())\nkey = 'GardenProvenance'\n")
    assert len(_around_the_owner(rogue)) == 2


def _session(tmp_path: Path, record: dict, name: str = "s") -> Path:
    table = tmp_path / name / "sub-P1_ses-1_task-garden_beh.tsv"
    table.parent.mkdir(parents=True)
    table.write_text("x\n1\n")
    if record is not None:
        table.with_suffix(".json").write_text(json.dumps(record))
    return table


def test_every_layout_is_migrated_or_refused_never_unknown(tmp_path):
    layout_1 = _session(tmp_path, {"completed": True, "assignment": {"rule_code": 3}, "columns": {"x": {}}}, "v1")
    layout_2 = _session(tmp_path, {"x": {"Description": "x"}, PROVENANCE_KEY: {"completed": False, "seed": 4}}, "v2")
    newer = _session(tmp_path, {PROVENANCE_KEY: {"completed": True, "sidecar_version": SIDECAR_VERSION + 1}}, "v9")
    keyless = _session(tmp_path, {PROVENANCE_KEY: {"seed": 1}}, "nokey")
    foreign = _session(tmp_path, {"x": {"Description": "from another tool"}}, "foreign")
    bare = _session(tmp_path, None, "bare")
    one = read_session_record(layout_1)
    assert one["assignment"]["rule_code"] == 3 and "columns" not in one and one["sidecar_version"] == SIDECAR_VERSION
    assert read_session_record(layout_2)["seed"] == 4
    with pytest.raises(UserError, match="sidecar_version"):
        read_session_record(newer)
    assert [completion(t, session=True)[0] for t in (layout_1, layout_2, newer, keyless, foreign, bare)] == \
        [COMPLETE, INCOMPLETE, INCOMPLETE, INCOMPLETE, FOREIGN, FOREIGN]
    assert "no 'completed' field" in completion(keyless, session=True)[1]


def _consumers(folder: Path, table: Path, work: Path) -> dict[str, list[str]]:
    return {"validate": ["validate", str(folder)],
            "fit": ["fit", str(folder), "--out", str(work / "fits.tsv"), "--models", "factorized"],
            "session-report": ["session-report", str(folder), "--out", str(work / "s.html")],
            "train": ["train", "--curriculum", str(folder), "--out", str(work / "t"), "--seeds", "1", "--steps", "1"],
            "import": ["import", str(table), "--out", str(work / "imported")]}


@pytest.mark.slow
def test_a_session_killed_at_a_random_trial_is_refused_everywhere_then_accepted_once_resumed(
        tmp_path, capsys, small_protocol):
    protocol = small_protocol
    out = tmp_path / "participants"
    run = ["run", "--participant", "P1", "--session", "1", "--simulate", "factorized", "--out", str(out),
           "--protocol", str(protocol)]
    cut = int(np.random.default_rng(24).integers(5, 90))
    proc = subprocess.Popen([sys.executable, "-m", "garden", *run, "--pace", "0.02"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    table = session_path(out, "P1", 1)
    deadline = time.time() + 90
    while time.time() < deadline and not (table.exists() and table.read_text().count("\n") > cut):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_session_record(table)["completed"] is False
    assert cut <= len(read_trials(table, include_incomplete=True)) < 100
    for name, argv in _consumers(out, table, tmp_path / "refused").items():
        status = main(argv)
        err = capsys.readouterr().err
        assert status == (1 if name == "validate" else 2), (name, err)
        assert table.name in err and "--include-incomplete" in err, (name, err)
        assert len([line for line in err.splitlines() if "incomplete" in line]) == 1, (name, err)
    assert not (tmp_path / "refused").exists()
    assert main([*run, "--resume"]) == 0, capsys.readouterr().err  # in this process: only the kill needs one
    record = read_session_record(table)
    assert record["completed"] is True and record["resumed"][0]["after_trial"] >= cut
    for name, argv in _consumers(out, table, tmp_path / "accepted").items():
        assert main(argv) == 0, (name, capsys.readouterr().err)
    capsys.readouterr()


def test_a_foreign_table_is_accepted_and_said_to_be_foreign(tmp_path, capsys):
    folder = tmp_path / "foreign"
    folder.mkdir()
    rows = ["participant_id\tsession\tphase\tblock\ttrial\tcontext\tbranchiness\tleafiness\texemplar\t"
            "reward_value\tchoice\trt"]
    rows += [f"P1\t1\ttest\t1\t{i + 1}\tnorth\t{i % 5 + 1}\t{i // 5 % 5 + 1}\t1\t0\t1\t0.5" for i in range(50)]
    (folder / "other_tool.tsv").write_text("\n".join(rows) + "\n")
    assert main(["validate", str(folder)]) == 0
    assert "1 foreign table(s) without a garden sidecar" in capsys.readouterr().out

"""Sessions that belong together: day 2 takes day 1's assignment and exemplars, refuses mismatches
(one line, exit 2) unless overridden (recorded); arena trees never appear in the main task."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from garden.core.trials import read_trials
from garden.experiment.arrangement import data as ad
from garden.experiment.arrangement.task import RENDER_EXEMPLARS
from garden.experiment.config import load_protocol
from garden.experiment.recording import session_info
from garden.experiment.sequences import allocate_exemplars, assign
from garden_cli import run_garden

TWO_DAYS = """
name = "two_days"
[curricula.blocked]
order = "blocked"
block_length = 50
[curricula.interleaved]
order = "interleaved"
[[phases]]
name = "main"
session = 1
trials = 100
exemplars_per_cell = 2
order = "curriculum"
[[phases]]
name = "refresher"
session = 2
trials = 50
"""


def _run(protocol: Path, out: Path, session: int, *flags: str) -> subprocess.CompletedProcess:
    return run_garden("run", "--simulate", "random", "--participant", "P003", "--session", str(session),
                      "--protocol", str(protocol), "--out", str(out), *flags)


@pytest.fixture
def day1(tmp_path) -> tuple[Path, Path]:
    """Day 1 of P003 run with explicit --rule-code, --curriculum and --seed."""
    protocol = tmp_path / "two_days.toml"
    protocol.write_text(TWO_DAYS)
    out = tmp_path / "participants"
    result = _run(protocol, out, 1, "--rule-code", "4", "--curriculum", "blocked", "--seed", "77")
    assert result.returncode == 0, result.stderr
    return protocol, out


def _exemplars(out: Path, session: int) -> set[tuple]:
    table = read_trials(out / f"sub-P003/ses-{session}/beh/sub-P003_ses-{session}_task-garden_beh.tsv")
    return set(zip(table.branchiness, table.leafiness, table.exemplar.astype(str)))


def test_day_2_takes_day_1s_assignment_and_new_exemplars(day1):
    protocol, out = day1
    assert _run(protocol, out, 2).returncode == 0
    day1_info, day2_info = session_info(out / "sub-P003/ses-1/beh/sub-P003_ses-1_task-garden_beh.tsv"), \
        session_info(out / "sub-P003/ses-2/beh/sub-P003_ses-2_task-garden_beh.tsv")
    assert day2_info["assignment"] == day1_info["assignment"]
    assert day2_info["assignment"]["rule_code"] == 4 and day2_info["assignment"]["seed"] == 77
    assert day2_info["linked_to_session"] == 1 and day2_info["mismatch_allowed"] == []
    assert day2_info["protocol_sha256"] == day1_info["protocol_sha256"]
    assert not _exemplars(out, 1) & _exemplars(out, 2)  # no tree of day 1 comes back on day 2


@pytest.mark.parametrize("flags, words", [
    (["--rule-code", "2"], "rule_code 2 differs from session 1's 4"),
    (["--seed", "5"], "seed 5 differs from session 1's 77"),
])
def test_a_contradicting_day_2_is_refused_in_one_line(day1, flags, words):
    protocol, out = day1
    result = _run(protocol, out, 2, *flags)
    assert result.returncode == 2 and words in result.stderr and "--allow-session-mismatch" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (out / "sub-P003/ses-2").exists()


def test_a_changed_protocol_is_refused_unless_overridden_and_then_recorded(day1):
    protocol, out = day1
    protocol.write_text(TWO_DAYS.replace('name = "refresher"', 'name = "refresher"\nfeedback = false'))
    refused = _run(protocol, out, 2)
    assert refused.returncode == 2 and "the protocol differs from session 1's" in refused.stderr
    allowed = _run(protocol, out, 2, "--allow-session-mismatch")
    assert allowed.returncode == 0, allowed.stderr
    info = session_info(out / "sub-P003/ses-2/beh/sub-P003_ses-2_task-garden_beh.tsv")
    assert info["mismatch_allowed"] and "protocol differs" in info["mismatch_allowed"][0]
    assert info["assignment"]["rule_code"] == 4 and not _exemplars(out, 1) & _exemplars(out, 2)


def test_blocked_first_garden_is_counterbalanced_and_recorded(day1):
    protocol, out = day1
    info = session_info(out / "sub-P003/ses-1/beh/sub-P003_ses-1_task-garden_beh.tsv")
    table = read_trials(out / "sub-P003/ses-1/beh/sub-P003_ses-1_task-garden_beh.tsv")
    assert table.context.iloc[:50].eq(info["assignment"]["first_context"]).all()
    p2022 = load_protocol("flesch2022")
    firsts = [assign(p2022, f"P{n:03d}").first_context for n in (1, 9)]  # same rule and curriculum
    assert firsts == ["north", "south"]


def test_arena_trees_never_appear_in_the_main_task():
    for name in ("flesch2022", "flesch2018"):
        protocol = load_protocol(name)
        main = {e for phase in allocate_exemplars(protocol, seed=1) for cell in phase.values() for e in cell}
        assert main and not main & set(RENDER_EXEMPLARS)
    arena = ad.choose_exemplars({(int(b), int(l)): RENDER_EXEMPLARS for b, l in ad.CELLS}, 4)
    assert set(arena) <= set(RENDER_EXEMPLARS)

"""Every command README.md shows runs, and every ``garden`` line of README.md and docs/*.md names options that exist.

README's command table and code blocks are parsed (``tests/doc_commands.py``); each table row has one concrete,
smallest honest invocation in ``RUNS`` (same sub-command and every option the row requires; size options shrunk)
that is run in a temporary folder, in README's order, by one module fixture. Rows that cannot run here (a PsychoPy
window, a server that runs until stopped, the whole demo pipeline run elsewhere) name why in ``NOT_RUN``; their
``--help`` runs instead. Every ``garden ...`` line of docs/*.md is checked against the real argument parser.
README's Python block is run by tests/test_public_api.py (``test_the_readme_notebook_example_runs``)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from doc_commands import code_blocks, doc_commands, shell_lines, unknown_options
from garden.cli import build_parser
from garden.core.provenance import read_session_record
from garden.core.trials import read_trials
from garden.experiment.arrangement.simulate import simulate_arrangements
from garden_cli import run_garden

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TABLE_ROW = re.compile(r"^\| `(garden [^`]+)` \|", re.MULTILINE)

RUNS: dict[str, tuple[str, ...]] = {
    "garden stimuli make --out DIR --exemplars N --size PX [--seed S] [--jobs J]":
        ("stimuli", "make", "--out", "stim", "--exemplars", "8", "--size", "16", "--seed", "0", "--jobs", "1"),
    "garden stimuli sheet DIR --out sheet.png": ("stimuli", "sheet", "stim", "--out", "sheet.png"),
    "garden stimuli check DIR [--min-exemplars N]": ("stimuli", "check", "stim", "--min-exemplars", "8"),
    "garden run --participant ID --session N --protocol flesch2022 [...]":
        ("run", "--participant", "P01", "--session", "1", "--protocol", "flesch2022", "--simulate", "factorized",
         "--out", "participants"),
    "garden validate PATH...": ("validate", "participants"),
    "garden import SRC --out DIR [--map old=new,...] [--set col=value,...] [--blank-invalid col,...]":
        ("import", "renamed.csv", "--out", "imported", "--map", "person=participant_id,rt_s=rt", "--set", "session=1",
         "--blank-invalid", "rt"),
    "garden grid-prior DIR --out FILE.tsv": ("grid-prior", "participants", "--out", "grid_prior.tsv"),
    "garden web build --protocol P --participants ID,... --out SITE":
        ("web", "build", "--protocol", "flesch2018", "--participants", "P01", "--out", "site",
         "--stimuli", "stim"),
    "garden web jatos --protocol P --participants ID,... --out study.jzip":
        ("web", "jatos", "--protocol", "flesch2018", "--participants", "P01", "--out", "study.jzip",
         "--stimuli", "stim"),
    "garden fit PATH... --out FITS.tsv [--models ...] [--objective ...] [--posterior --seed S]":
        ("fit", "participants", "--out", "fits.tsv", "--models", "factorized,linear", "--objective", "bernoulli",
         "--phase", "main"),
    "garden bms FITS.tsv --out BMS.tsv [--by group]": ("bms", "fits.tsv", "--out", "bms.tsv"),
    "garden recover --out DIR": ("recover", "--out", "recovery", "--models", "factorized,linear", "--n-sim", "1",
                                 "--trials", "100"),
    "garden train [--scales 0.01,3 --ctx-scales 0.5,1.5] --seeds N --steps N --out DIR":
        ("train", "--scales", "0.01,3", "--ctx-scales", "0.5,1.5", "--seeds", "1", "--steps", "20", "--out", "nets"),
    "garden networks fit PATH... --out DIR [--seeds N] [--executor local --jobs J]":
        ("networks", "fit", "participants", "--out", "netfits", "--seeds", "1", "--scales", "0.01,3", "--ctx-scales",
         "0.5,1.5", "--lrs", "0.1", "--temperatures", "1", "--lapses", "0.05"),
    "garden networks recover --protocol flesch2018 --curricula B200,interleaved --people N --out DIR":
        ("networks", "recover", "--protocol", "flesch2018", "--curricula", "B200,interleaved", "--people", "1",
         "--out", "netrecover", "--seeds", "1", "--scales", "0.01,3", "--ctx-scales", "0.5,1.5", "--lrs", "0.1",
         "--temperatures", "1", "--lapses", "0.05"),
    "garden networks report FIT_DIR [--recovery FILE] [--out FILE.html]":
        ("networks", "report", "netfits", "--recovery", "netrecover/recovery.tsv", "--out", "netfits.html"),
    "garden gating SWEEP... --out DIR": ("gating", "nets", "--out", "gating"),
    "garden neural simulate SESSIONS --out BOLD [--snr X] [--seed S]":
        ("neural", "simulate", "sessions", "--out", "bold", "--snr", "0.5", "--seed", "1"),
    "garden neural glm BIDS --mask MASK --out GLM [--confounds motion] [--noise-model ar1] "
    "[--executor local|slurm --jobs N]":
        ("neural", "glm", "bold", "--mask", "bold/masks/brain_mask.nii.gz", "--out", "glm", "--confounds", "motion"),
    "garden neural rdms GLM --roi NAME=MASK... | --atlas IMG --atlas-labels TSV --out RDMS "
    "[--method correlation|crossnobis]":
        ("neural", "rdms", "glm", "--roi", "rich=bold/masks/roi-rich_mask.nii.gz",
         "--roi", "lazy=bold/masks/roi-lazy_mask.nii.gz", "--out", "rdms", "--method", "crossnobis"),
    "garden neural searchlight GLM --mask MASK --out SL [--radius 3] [--method crossnobis] [--executor local|slurm]":
        ("neural", "searchlight", "glm", "--mask", "bold/masks/roi-rich_mask.nii.gz", "--out", "sl", "--radius", "3"),
    "garden neural stats RDMS --out STATS [--behaviour DIR] [--networks SWEEP] [--searchlight SL --mask MASK]":
        ("neural", "stats", "rdms", "--out", "stats", "--n-perm", "20", "--n-boot", "20", "--restarts", "2"),
    "garden neural mante UNIT.mat... --out DIR [--splits 2] [--window S,E]":
        ("neural", "mante", "units/unit00.mat", "units/unit01.mat", "units/unit02.mat", "--out", "mante",
         "--splits", "2", "--restarts", "2"),
    "garden session-report sub-ID [--root participants] [--out FILE.html]":
        ("session-report", "sub-P01", "--root", "participants", "--out", "session.html", "--dpi", "30"),
}
"""README table row -> the concrete command run (in README's order; later rows read earlier rows' outputs)."""

NOT_RUN: dict[str, str] = {
    "garden arrange --participant ID --session N --phase pre|post":
        "opens a PsychoPy window for a person to drag trees (tests/test_arrangement_task.py drives it under Xvfb)",
    "garden web serve --protocol P --out participants":
        "a server that runs until stopped (tests/test_web_server.py and test_web_browser.py drive it)",
    "garden demo --out DIR":
        "the whole pipeline (53 s CPU at the smallest size, the report included): tests/test_demo_pipeline.py's fixture "
        "runs it",
    "garden demo --runs-in PARENT":
        "the same pipeline into a dated folder, run by `make demo`; a second run would double the suite's longest step",
    "garden neural networks RDMS --fits FITS --trials PATH... --out DIR [--participants IDS]":
        "needs >= 3 scanned people whose choices have network fits: tests/test_neural_networks_evidence.py runs it "
        "end to end on simulated scanner data",
    "garden report DIR [--out FILE.html] [--overwrite]": "needs a demo's results: tests/test_demo_pipeline.py rebuilds the demo's report",
}
"""README table rows not run here, with the reason; their ``--help`` is run instead."""

README_BASH = {
    "make demo": "builds a venv and runs the demo: the demo pipeline is tests/test_demo_pipeline.py",
    "make test": "runs this suite",
}
"""README bash lines that are not ``garden`` commands, with where they are covered; checked with ``make -n``."""


ALTERNATIVES = {"--atlas", "--atlas-labels"}
"""Options a row offers as the alternative (``A | B``) to one its run uses (``neural rdms``: ``--roi``)."""


def readme_rows() -> list[str]:
    """The first cell of each row of README's command table (``\\|`` unescaped)."""
    return [row.replace("\\|", "|") for row in TABLE_ROW.findall(README.read_text(encoding="utf-8"))]


def test_every_readme_table_row_is_run_or_says_why_not():
    rows = readme_rows()
    assert len(rows) >= 25
    assert sorted(rows) == sorted([*RUNS, *NOT_RUN])


def test_each_run_keeps_the_rows_sub_command_and_required_options():
    parser = build_parser(load_all=True)
    for row, argv in RUNS.items():
        documented = row.split()[1:]
        command = [word for word in documented if re.fullmatch(r"[a-z][a-z-]*", word)][:2]
        assert list(argv[:len(command)]) == command[:len(argv)] or argv[0] == command[0], row
        required = set(re.findall(r"(--[a-z-]+)", re.sub(r"\[[^]]*]", "", row))) - ALTERNATIVES
        assert required <= set(argv), (row, argv)
        assert unknown_options(parser, "garden " + " ".join(argv))[1] == []


def _world(w: Path) -> None:
    """Inputs no README command makes: a renamed copy of a table (for import), arrangements (for grid-prior; the
    arrange window writes them), scanner sessions (``garden run --simulate`` of session 2) and Mante units."""
    for participant in ("01", "02"):  # group statistics need two
        scanned = run_garden("run", "--participant", participant, "--session", "2", "--protocol", "flesch2022",
                             "--simulate", "factorized", "--out", str(w / "sessions"))
        assert scanned.returncode == 0, scanned.stderr
    for session, phase in ((1, "pre"), (2, "post")):
        simulate_arrangements(w / "participants", "P01", session, phase, noise=0.1, seed=session, n_arrangements=2)
    rng = np.random.default_rng(0)
    (w / "units").mkdir()
    m, c, ctx = (np.repeat(g.ravel(), 3) for g in np.meshgrid(np.arange(6), np.arange(6), (1, -1), indexing="ij"))
    motion = np.array([-0.5, -0.15, -0.05, 0.05, 0.15, 0.5])
    for k in range(3):
        rate = rng.standard_normal() * m + rng.standard_normal() * c + ctx
        savemat(w / "units" / f"unit{k:02d}.mat", {"unit": {
            "response": rate[:, None] + rng.normal(0, 0.3, (rate.size, 4)), "time": np.arange(4) * 0.1,
            "task_variable": {"stim_dir": motion[m], "stim_col": motion[c] / 2, "context": ctx.astype(float),
                              "correct": np.ones(rate.size)}}})


def _renamed(w: Path) -> None:
    """participants/ sub-P01's table with other column names, no session column and one impossible RT."""
    table = pd.read_csv(next((w / "participants").glob("sub-P01/ses-1/beh/*_beh.tsv")), sep="\t")
    table = table.drop(columns="session").rename(columns={"participant_id": "person", "rt": "rt_s"})
    table.loc[0, "rt_s"] = -0.2
    table.to_csv(w / "renamed.csv", index=False)


@pytest.fixture(scope="module")
def readme_runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Each RUNS command run in one folder, in order: its result and the folder."""
    w = tmp_path_factory.mktemp("readme")
    cwd = os.getcwd()
    os.chdir(w)
    try:
        _world(w)
        results = {}
        for row, argv in RUNS.items():
            if argv[0] == "import":
                _renamed(w)
            results[row] = run_garden(*argv), w
        return results
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("row", list(RUNS))
def test_readme_command_runs(row, readme_runs):
    result, folder = readme_runs[row]
    assert result.returncode == 0, f"{row}\n{' '.join(result.args)}\n{result.stderr[-2000:]}"
    argv = RUNS[row]
    if "--out" in argv:
        assert (folder / argv[argv.index("--out") + 1]).exists()
    if argv[0] == "validate":
        assert result.stdout.startswith("valid: ")
    if argv[0] == "import":  # the impossible RT imported as missing and kept
        imported = pd.read_csv(next((folder / "imported").rglob("*_beh.tsv")), sep="\t")
        assert pd.isna(imported.loc[0, "rt"]) and imported.loc[0, "rt_invalid"] == -0.2


@pytest.mark.parametrize("row", list(NOT_RUN))
def test_commands_not_run_here_still_answer_help(row, capsys):
    words = [word for word in row.split()[1:3] if re.fullmatch(r"[a-z][a-z-]*", word)]
    status = run_garden(*words, "--help")
    assert status.returncode == 0 and "usage: garden" in status.stdout


def test_readme_bash_blocks_are_make_targets_or_garden_commands():
    blocks = [b for b in code_blocks(README.read_text(encoding="utf-8")) if b.language == "bash"]
    lines = [text for block in blocks for _, text in shell_lines(block)]
    assert set(README_BASH) <= set(lines)
    for target in README_BASH:
        dry = subprocess.run(["make", "-n", target.split()[1]], cwd=REPO, capture_output=True, text=True, timeout=30)
        runs = {"demo": "garden demo", "test": "pytest"}[target.split()[1]]  # what the target ends by running
        assert dry.returncode == 0 and runs in dry.stdout, dry.stdout + dry.stderr
    parser = build_parser(load_all=True)
    garden_lines = [text for text in lines if text.startswith("garden ")]
    assert garden_lines  # the 2018 import example: run by test_readme_import_example_on_the_published_data
    for text in garden_lines:
        assert unknown_options(parser, text)[1] == [], text


@pytest.mark.slow  # 105 600 trials imported and validated: ~30 s
def test_readme_import_example_on_the_published_data(flesch2018, tmp_path, monkeypatch):
    """README's import-and-validate block as written, with ``$FLESCH2018`` set to the lab's copy; what it imported
    (one session file per person, the raw column it displaced, feedback from the phase), and a second import
    refused."""
    block = next(b for b in code_blocks(README.read_text(encoding="utf-8")) if "$FLESCH2018" in b.text)
    monkeypatch.chdir(tmp_path)
    lines = [text.replace("$FLESCH2018", str(flesch2018)).split()[1:] for _, text in shell_lines(block)]
    for argv in lines:
        result = run_garden(*argv)
        assert result.returncode == 0, result.stderr
    assert "valid: 105600 trials, 176 participants, 176 sessions" in result.stdout
    files = sorted((tmp_path / "imported").rglob("*_beh.tsv"))
    assert len(files) == 176
    one = read_trials(files[0])
    assert len(one) == 600 and set(one.phase) == {"train", "test"}
    assert "choice_original" in one.columns  # the displaced raw column is kept, not lost
    # feedback recorded from the phase: networks fitted to this person learn only where the person did
    assert one.groupby("phase").feedback.agg(["min", "max"]).to_dict("index") == {
        "test": {"min": 0, "max": 0}, "train": {"min": 1, "max": 1}}
    assert read_session_record(files[0])["config"]["feedback_from_phase"] == {"test": 0, "train": 1}
    participants = pd.read_csv(tmp_path / "imported" / "participants.tsv", sep="\t")
    assert len(participants) == 176 and "group" in participants.columns
    again = run_garden(*lines[0])
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


def test_every_garden_line_in_the_docs_names_a_command_and_options_that_exist():
    parser = build_parser(load_all=True)
    files = [README, *sorted((REPO / "docs").glob("*.md"))]
    lines = [command for path in files for command in doc_commands(path, REPO)]
    assert len(lines) > 150
    wrong = []
    for command in lines:
        path, unknown = unknown_options(parser, command.text)
        placeholder = command.text.split()[1] in ("COMMAND", "--help", "--version")
        if unknown or not (path or placeholder):
            wrong.append(f"{command.where()}: unknown {unknown or 'command'}")
    assert not wrong, "\n".join(wrong)

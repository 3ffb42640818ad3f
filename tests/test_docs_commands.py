"""The ``garden`` lines of docs/*.md code blocks: the cheap ones run, each of the others says why not.

Every line of a shell block in docs/*.md that starts with ``garden`` is one of: a template (a placeholder such as
``DIR``, ``BIDS`` or ``...``: checked against the parser by tests/test_readme_commands.py), an error message the
page quotes, a line in ``RUN`` (run here, in one folder, in the pages' order; the size options of a few shrunk, said
in ``SHRUNK``), or a line in ``NOT_RUN`` with the reason. Runs use ``garden.cli.main`` in this process."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from doc_commands import NOT_A_COMMAND, code_blocks, shell_lines
from garden.experiment.arrangement.simulate import simulate_arrangements
from garden_cli import run_garden

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\.\.\.|\$|\b[A-Z][A-Z_]{2,}\b|/path/to/")
"""A template line: ``...``, a shell variable, an upper-case placeholder (``DIR``, ``BIDS``) or an example path."""

RUN = [
    "garden run --participant P002 --session 1 --protocol flesch2022 --simulate factorized",
    "garden fit participants/ --out fits.tsv --phase main",
    "garden bms fits.tsv --out bms.tsv --by group --models factorized,linear --criterion bic --exact",
    "garden recover --out recovery/ --trials 100,200,400 --n-sim 10 --seed 1",
    "garden grid-prior participants --out results/grid_prior.tsv",
    "garden stimuli make --out stimuli-443 --exemplars 50 --size 443 --seed 0 --jobs 2",
    "garden stimuli check stimuli-443 --min-exemplars 50",
    "garden stimuli sheet stimuli-443 --out sheet.png",
]
"""Doc lines run here, in this order (later lines read earlier lines' outputs)."""

SHRUNK = {
    "--n-sim": "1", "--trials": "100", "--exemplars": "6", "--size": "24", "--min-exemplars": "6", "--jobs": "1",
}
"""Size options set smaller than the docs' values (the same options and sub-command; seconds instead of minutes)."""

NOT_RUN = {
    "garden run --participant 7 --session 1 --simulate learner --out participants": "tests/test_session_report.py's "
        "report, built once per run, is these two lines (with --root and --out spelled out)",
    "garden session-report sub-7": "the second of those two lines (tests/test_session_report.py)",
    "garden run --participant P001 --session 1 --protocol flesch2022": "a PsychoPy window for a person "
        "(tests/test_experiment_present.py drives windows under Xvfb)",
    "garden run --participant P001 --session 2 --protocol flesch2022 --fullscreen": "a full-screen PsychoPy window",
    "garden run --participant P001 --session 1 --protocol flesch2022 --resume": "resumes a crashed window session "
        "(tests/test_experiment_recording.py)",
    "garden arrange --participant P001 --session 1 --phase pre": "a PsychoPy window where a person drags trees "
        "(tests/test_arrangement_task.py)",
    "garden arrange --participant P001 --session 2 --phase post": "the same window, after the session",
    "garden fit imported/ --out published.tsv --objective choice-matrix --missing reject --max-rt 5 --phase test":
        "needs the imported 2018 data: the same fits are benchmarks/bench_fit.py and tests/test_modeling_fit.py",
    "garden train --scales 0.01,0.1,0.2,0.3,0.4,1,2,3 --ctx-scales 0.5,0.5,0.5,0.5,0.5,0.8,1.35,1.5 --seeds 30 "
    "--steps 10000 --out nets/published": "the full published sweep (benchmarks/bench_networks.py times it)",
    "garden train --scales 3 --ctx-scales 1.5 --l2 paper --out nets/l2": "an L2 sweep of 10 000 steps per network",
    "garden train --scales 0.01,3 --ctx-scales 0.5,1.5 --lr paper --out nets/lr": "a learning-rate sweep of "
        "10 000 steps per network",
    "garden train --scales 3 --ctx-scales 1.5 --seeds 10 --l2 paper --threads 1 --out nets/l2": "the L2 sweep of "
        "docs/networks.md, minutes",
    "garden train --scales 0.01,3 --ctx-scales 0.5,1.5 --seeds 6 --lr paper --threads 1 --out nets/lr": "the "
        "learning-rate sweep of docs/networks.md, minutes",
    "garden networks recover --protocol flesch2018 --curricula B200,B20,B2,interleaved --people 24 --out recover":
        "96 network people through the default grid: minutes (README's row runs it with 1 person and one network)",
    "garden train --scales 0.5,2 --ctx-scales 1,1 --seeds 2 --steps 30 --shards 2 --executor slurm --out nets/t":
        "needs a SLURM cluster (tests/test_slurm.py runs it against a real single-node cluster)",
    "garden gating nets/published nets/linear --out nets/gating": "needs the full sweep and its linear control",
    "garden run --simulate factorized --protocol flesch2022 --participant 01 --session 2 --out sessions":
        "the first step of docs/neural.md's chain, run with the rest by README's rows (tests/test_readme_commands.py)",
    "garden neural simulate sessions --out bold --snr 0.5 --seed 1": "README's row runs it (the same line)",
    "garden neural glm bold --mask bold/masks/brain_mask.nii.gz --out glm --confounds motion": "README's row runs it "
        "(the same line)",
    "garden neural rdms glm --out rdms --roi rich=bold/masks/roi-rich_mask.nii.gz --roi "
    "lazy=bold/masks/roi-lazy_mask.nii.gz": "README's row runs it (with --method crossnobis)",
    "garden neural searchlight glm --mask bold/masks/brain_mask.nii.gz --out sl --method crossnobis --radius 3 "
    "--executor local --jobs 2": "the whole-brain searchlight in 2 local jobs (README's row runs one ROI inline)",
    "garden train --scales 0.01,0.1,0.4,1,2,3 --ctx-scales 0.5,0.5,0.5,0.8,1.35,1.5 --out nets": "a sweep of "
        "10 000 steps per network",
    "garden neural stats rdms --out stats --behaviour bold --networks nets --searchlight sl --mask "
    "bold/masks/brain_mask.nii.gz --sensitivity sens": "needs the sweep, the searchlight and the sensitivity run "
        "above; tests/test_neural_acceptance.py runs the chain end to end",
    "garden report stats": "draws the neural report of the chain above (tests/test_neural_acceptance.py)",
    "garden networks fit sessions --out fits": "the default grid on scanner sessions: minutes "
        "(tests/test_neural_networks_evidence.py runs a small grid)",
    "garden neural networks rdms --fits fits --trials sessions --out evidence": "needs the fits above "
        "(tests/test_neural_networks_evidence.py)",
    "garden report evidence": "draws the report of the evidence above",
    "garden report participants/ --out report.html": "draws every figure: tests/test_demo_pipeline.py draws the "
        "report on the published data",
    "garden web serve --protocol flesch2022 --out participants": "a server that runs until stopped "
        "(tests/test_web_server.py)",
    "garden web build --protocol flesch2022 --participants P001,P002 --out site/": "needs the stimuli at the "
        "protocol's size; README's row builds a site from a small set",
    "garden web jatos --protocol flesch2022 --participants P001,P002 --out study.jzip": "the same; README's row "
        "builds a study from a small set",
    "garden web serve --protocol my.toml --stimuli trees/ --host 0.0.0.0 --port 8080 --redirect-url "
    "'https://app.prolific.com/submissions/complete?cc=C1234'": "a server that runs until stopped, with a protocol "
        "and stimuli of the reader's own",
    "garden import --web results.jrzip --protocol flesch2022 --out participants": "needs a JATOS results archive "
        "from real browsers (tests/test_web_browser.py imports the results of its browser runs)",
}
"""Concrete doc lines not run here: line -> why, and where they are covered."""


def doc_lines() -> list[tuple[str, int, str]]:
    """(file, line, command) of every ``garden`` line in a shell block of docs/*.md."""
    found = []
    for path in sorted((REPO / "docs").glob("*.md")):
        for block in code_blocks(path.read_text(encoding="utf-8")):
            found += [(path.name, line, text) for line, text in shell_lines(block)
                      if text.startswith("garden ") and not NOT_A_COMMAND.match(text)]
    return found


def shrunk(line: str) -> list[str]:
    """The arguments of a doc line with the ``SHRUNK`` size options set to their small values."""
    words = line.split()[1:]
    return [SHRUNK[words[i - 1]] if i and words[i - 1] in SHRUNK else word for i, word in enumerate(words)]


def test_every_concrete_doc_line_is_run_or_says_why_not():
    concrete = {text for _, _, text in doc_lines() if not PLACEHOLDER.search(text)}
    assert len(concrete) > 30
    listed = set(RUN) | set(NOT_RUN)
    assert concrete == listed, (concrete - listed, listed - concrete)


@pytest.fixture(scope="module")
def doc_runs(tmp_path_factory) -> tuple[dict[str, object], Path]:
    """Each RUN line run in one new folder, in order: line -> result."""
    folder = tmp_path_factory.mktemp("docs")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        results = {}
        for line in RUN:
            if line.startswith("garden grid-prior"):  # the arrangement window writes these
                for session, phase in ((1, "pre"), (2, "post")):
                    simulate_arrangements(folder / "participants", "P002", session, phase, noise=0.1, seed=session,
                                          n_arrangements=2)
            results[line] = run_garden(*shrunk(line))
        return results, folder
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("line", RUN)
def test_doc_line_runs(line, doc_runs):
    results, folder = doc_runs
    result = results[line]
    assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
    words = line.split()
    if "--out" in words:
        assert (folder / words[words.index("--out") + 1]).exists(), line
    if words[1] == "fit":
        assert set(pd.read_csv(folder / "fits.tsv", sep="\t").participant_id.astype(str)) == {"P002"}

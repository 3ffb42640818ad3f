"""Fuzz harness: every sub-command, driven in-process through ``garden.cli.main`` with malformed
files, protocols, numbers, paths and interrupted runs.

Each case must exit 2 (1 for ``validate``), print exactly one line on stderr that names the
offending option, file or value (``validate``: one line per problem and a summary), show no
traceback, and leave the workspace byte-for-byte as it was (no file changed, created or left
half-written). The cases are built from tables below; ``CASES`` holds them all and
``test_case_count`` prints how many each command gets.
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import zipfile
import sys
from dataclasses import dataclass
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
import pytest
from inotify_simple import INotify, flags
from PIL import Image
from scipy.io import savemat

from garden.core.trials import write_table
from garden.experiment.config import PROTOCOLS
from garden.cli import build_parser, main

PNG = io.BytesIO()
Image.new("RGB", (8, 8), (10, 120, 10)).save(PNG, format="PNG")
PNG = PNG.getvalue()


@dataclass(frozen=True)
class Case:
    """One hostile command line: ``argv`` may contain ``{w}`` (the workspace); ``needle`` must appear
    in the error line (what it is about)."""

    command: str
    argv: tuple[str, ...]
    needle: str
    setup: str | None = None  # name of a prepared input (see WORKSPACE) the case needs

    @property
    def expected(self) -> int:
        return 1 if self.command == "validate" else 2


def with_options(command: str, base: tuple[str, ...], options: dict[tuple[str, ...], str]) -> list[Case]:
    """Cases of ``command``: the command line ``base`` with each of ``options`` added (options -> needle)."""
    return [Case(command, (*base, *added), needle) for added, needle in options.items()]


# ------------------------------------------------------------------ the inputs

def _trials(pid: str = "P1", n_rep: int = 2) -> pd.DataFrame:
    rows = []
    trial = 1
    for _ in range(n_rep):
        for context in ("north", "south"):
            for b in range(1, 6):
                for l in range(1, 6):
                    value = (b - 3) * 25.0 if context == "north" else (l - 3) * 25.0
                    rows.append({"participant_id": pid, "session": 1, "phase": "test", "block": 1, "trial": trial,
                                 "context": context, "branchiness": b, "leafiness": l, "exemplar": "1",
                                 "reward_value": value, "choice": float(value > 0 or (trial % 7 == 0)),
                                 "rt": 0.5 + 0.001 * trial})
                    trial += 1
    return pd.DataFrame(rows)


def _tsv(table: pd.DataFrame) -> str:
    return table.to_csv(sep="\t", index=False, lineterminator="\n")


VALID_TRIALS = _tsv(pd.concat([_trials("P1"), _trials("NA")], ignore_index=True))
HEADER = VALID_TRIALS.split("\n", 1)[0]
COLUMNS = HEADER.split("\t")
ROW = VALID_TRIALS.split("\n")[1].split("\t")


def _with(column: str, value: str) -> str:
    """The valid table with ``column`` of its first row set to ``value``."""
    lines = VALID_TRIALS.split("\n")
    cells = lines[1].split("\t")
    cells[COLUMNS.index(column)] = value
    lines[1] = "\t".join(cells)
    return "\n".join(lines)


BAD_CELLS = {
    "participant_id": ["", "P 1", "../x", "P-1", "é", "P" * 65, "P1;rm", "sub/1"],
    "session": ["0", "-1", "1.5", "x", "", "nan", "inf"],
    "phase": [""],
    "block": ["-1", "0.5", "b", "", "NaN"],
    "trial": ["0", "1.5", "x", "", "-3"],
    "context": [""],
    "branchiness": ["0", "6", "2.5", "x", "", "nan"],
    "leafiness": ["0", "6", "2.5", "x", "", "inf"],
    "exemplar": [""],
    "reward_value": ["x", "", "nan", "inf", "-inf", "1e400"],
    "choice": ["2", "-1", "0.5", "yes", "nan", "None", "null"],
    "rt": ["-0.1", "x", "nan", "inf", "NaN", "None"],
}
"""Cells that break the trial-table contract, per column (each in row 1 of an otherwise valid table)."""

BROKEN_TABLES: dict[str, tuple[bytes, str]] = {
    **{f"cell-{column}-{i}": (_with(column, value).encode(), "t.tsv")
       for column, values in BAD_CELLS.items() for i, value in enumerate(values)},
    "empty": (b"", "t.tsv"),
    "header-only": ((HEADER + "\n").encode(), "t.tsv"),
    "missing-column": (_tsv(_trials().drop(columns="rt")).encode(), "t.tsv"),
    "duplicated-header": ((HEADER + "\trt\n" + "\t".join(ROW) + "\t0.5\n").encode(), "t.tsv"),
    "empty-header-name": ((HEADER + "\t\n" + "\t".join(ROW) + "\t1\n").encode(), "t.tsv"),
    "ragged-row": ((HEADER + "\n" + "\t".join(ROW[:-2]) + "\n").encode(), "t.tsv"),
    "nul-byte": (VALID_TRIALS.replace("north", "no\x00rth", 1).encode(), "t.tsv"),
    "latin-1": (VALID_TRIALS.replace("test", "tést", 1).encode("latin-1"), "t.tsv"),
    "semicolons": (VALID_TRIALS.replace("\t", ";").encode(), "t.csv"),
    "tabs-in-csv": (VALID_TRIALS.encode(), "t.csv"),
    "huge-field": (_with("exemplar", "e" * 140_000).encode(), "t.tsv"),
    "huge-quoted-field": (_with("exemplar", '"' + "e" * 140_000).encode(), "t.tsv"),
    "three-contexts": (_with("context", "east").encode(), "t.tsv"),
    "duplicate-trial": (VALID_TRIALS.replace("\t1\t2\tnorth", "\t1\t1\tnorth", 1).encode(), "t.tsv"),
    "bad-gzip": (b"\x1f\x8bnot really gzip", "t.csv.gz"),
    "gzip-of-garbage": (gzip.compress(b"\xff\xfe\x00garbage"), "t.tsv.gz"),
    "binary": (PNG, "t.tsv"),
    "not-a-table-suffix": (VALID_TRIALS.encode(), "t.txt"),
}
"""Malformed trial tables by name: (bytes, file name)."""

PROTOCOL_TEXT = (Path(PROTOCOLS["flesch2022"]).read_text(encoding="utf-8"))


def _protocol(old: str, new: str) -> str:
    assert old in PROTOCOL_TEXT, old
    return PROTOCOL_TEXT.replace(old, new, 1)


BROKEN_PROTOCOLS: dict[str, tuple[str, str]] = {
    "iti-nan": (_protocol("iti_s = 1.0", "iti_s = nan"), "iti_s"),
    "iti-inf": (_protocol("iti_s = 1.0", "iti_s = inf"), "iti_s"),
    "iti-negative": (_protocol("iti_s = 1.0", "iti_s = -1.0"), "iti_s"),
    "iti-text": (_protocol("iti_s = 1.0", 'iti_s = "one"'), "iti_s"),
    "window-inf": (_protocol("response_window_s = 1.5", "response_window_s = inf"), "response_window_s"),
    "window-huge": (_protocol("response_window_s = 1.5", "response_window_s = 1e9"), "response_window_s"),
    "cue-nan": (_protocol("cue_s = 1.0", "cue_s = -nan"), "cue_s"),
    "feedback-big": (_protocol("feedback_s = 1.0", "feedback_s = 1e300"), "feedback_s"),
    "colour-300": (_protocol("background = [128, 128, 128]", "background = [300, 128, 128]"), "background"),
    "colour-negative": (_protocol("text_colour = [255, 255, 255]", "text_colour = [-1, 255, 255]"), "text_colour"),
    "colour-short": (_protocol("text_colour = [255, 255, 255]", "text_colour = [255, 255]"), "text_colour"),
    "colour-context": (_protocol("north = [0, 178, 255]", "north = [0, 999, 255]"), "north"),
    "size-negative": (_protocol("size_px = [1280, 1024]", "size_px = [-1280, 1024]"), "size_px"),
    "size-zero": (_protocol("size_px = [1280, 1024]", "size_px = [0, 0]"), "size_px"),
    "size-huge": (_protocol("size_px = [1280, 1024]", "size_px = [100000, 1024]"), "size_px"),
    "refresh-zero": (_protocol("refresh_hz = 60.0", "refresh_hz = 0.0"), "refresh_hz"),
    "refresh-inf": (_protocol("refresh_hz = 60.0", "refresh_hz = inf"), "refresh_hz"),
    "key-unknown": (_protocol('left = "f"', 'left = "fx"'), "left"),
    "key-empty": (_protocol('right = "j"', 'right = ""'), "right"),
    "key-same": (_protocol('right = "j"', 'right = "f"'), "keys"),
    "key-number": (_protocol('left = "f"', "left = 5"), "left"),
    "language-unknown": (_protocol('name = "flesch2022"', 'name = "flesch2022"\nlanguage = "xx"'), "language"),
    "language-path": (_protocol('name = "flesch2022"', 'name = "flesch2022"\nlanguage = "../en"'), "language"),
    "unknown-top-key": (_protocol('name = "flesch2022"', 'name = "flesch2022"\ncolour = 3'), "colour"),
    "unknown-timing-key": (_protocol("iti_s = 1.0", "iti_s = 1.0\niti = 2"), "iti"),
    "rule-code-9": (_protocol('rule_code = "participant"', "rule_code = 9"), "rule_code"),
    "rule-code-text": (_protocol('rule_code = "participant"', 'rule_code = "nine"'), "rule_code"),
    "curriculum-unknown": (_protocol('curriculum = "participant"', 'curriculum = "zigzag"'), "curriculum"),
    "contexts-same": (_protocol('contexts = ["north", "south"]', 'contexts = ["north", "north"]'), "contexts"),
    "contexts-three": (_protocol('contexts = ["north", "south"]', 'contexts = ["north", "south", "east"]'), "contexts"),
    "seed-negative": (_protocol("seed = 2022", "seed = -1"), "seed"),
    "seed-huge": (_protocol("seed = 2022", "seed = 99999999999999"), "seed"),
    "seed-float": (_protocol("seed = 2022", "seed = 1.5"), "seed"),
    "trials-huge": (_protocol("trials = ", "trials = 100000000000 #"), "trials"),
    "trials-49": (_protocol("trials = ", "trials = 49 #"), "trials"),
    "trials-zero": (_protocol("trials = ", "trials = 0 #"), "trials"),
    "no-phases": ("\n".join(line for line in PROTOCOL_TEXT.splitlines() if "phases" not in line)
                  .split("[timing]")[0], "phases"),
    "bad-toml": (PROTOCOL_TEXT + "\n[[phases]\n", "TOML"),
    "duplicate-key": (PROTOCOL_TEXT.replace("seed = 2022", "seed = 2022\nseed = 1", 1), "TOML"),
    "name-path": (_protocol('name = "flesch2022"', 'name = "../../evil"'), "name"),
    "name-empty": (_protocol('name = "flesch2022"', 'name = ""'), "name"),
    "phase-name-path": (_protocol('name = "main"', 'name = "../main"'), "name"),
    **{f"block-trials-{n}": (_protocol("block_trials = 225", f"block_trials = {n}"), "block_trials")
       for n in (7, 210, 901)},
}
"""Malformed protocols by name: (TOML text, word the error must contain)."""


def _duplicate_phase() -> str:
    start = PROTOCOL_TEXT.index("[[phases]]")
    block = PROTOCOL_TEXT[start:].split("[[phases]]")[1]
    return PROTOCOL_TEXT + "\n[[phases]]" + block


BROKEN_PROTOCOLS["duplicate-phase-name"] = (_duplicate_phase(), "phases")

FITS_ROWS = [{"participant_id": pid, "model": model, "k": k, "nll": nll, "aic": 2 * k + 2 * nll,
              "bic": k * np.log(100) + 2 * nll, "group": pid[-1]}
             for pid in ("P1", "NA", "null", "P2")
             for model, k, nll in (("factorized", 5, 40.0 + len(pid)), ("linear", 4, 45.0 - len(pid)))]
VALID_FITS = _tsv(pd.DataFrame(FITS_ROWS))


def _fits_with(row: int, column: str, value: str) -> str:
    table = pd.DataFrame(FITS_ROWS).astype(object)
    table.loc[row, column] = value
    return _tsv(table)


BROKEN_FITS: dict[str, tuple[str, str]] = {
    "bic-text": (_fits_with(0, "bic", "abc"), "bic"),
    "bic-empty": (_fits_with(1, "bic", ""), "bic"),
    "bic-nan": (_fits_with(2, "bic", "nan"), "bic"),
    "bic-inf": (_fits_with(3, "bic", "inf"), "bic"),
    "model-empty": (_fits_with(0, "model", ""), "model"),
    "duplicate-row": (VALID_FITS + VALID_FITS.split("\n")[1] + "\n", "second"),
    "incomplete-participant": ("\n".join(VALID_FITS.split("\n")[:-2]) + "\n", "lacks"),
    "no-bic-column": (_tsv(pd.DataFrame(FITS_ROWS).drop(columns=["bic"])), "bic"),
    "no-model-column": (_tsv(pd.DataFrame(FITS_ROWS).drop(columns=["model"])), "model"),
    "header-only": (VALID_FITS.split("\n")[0] + "\n", "no rows"),
    "empty": ("", "empty"),
    "ragged": (VALID_FITS + "P9\tlinear\n", "fields"),
    "semicolons": (VALID_FITS.replace("\t", ";"), "separated"),
    "bic-1e308": (_fits_with(0, "bic", "1e308"), "bic"),
    "bic-negative": (_fits_with(1, "bic", "-500"), "bic"),
    "id-path": (_fits_with(0, "participant_id", "../x"), "participant_id"),
}
"""Malformed FITS tables for ``bms`` by name: (text, word the error must contain)."""

BROKEN_MANIFESTS: dict[str, str] = {
    "list": "[]",
    "empty-object": "{}",
    "files-null": '{"files": null}',
    "files-list": '{"files": []}',
    "entry-not-object": '{"files": {"B1L1_1.png": 3}}',
    "entry-no-hash": '{"files": {"B1L1_1.png": {"sha256": "x"}}}',
    "entry-bad-name": '{"files": {"../../etc/passwd": {"pixels_sha256": "x"}}}',
    "not-json": '{"files": {',
    "incomplete": '{"completed": false, "files": {}}',
    "latin-1": '{"files": {}, "note": "\xe9"}',
}
"""Damaged or unfinished ``manifest.json`` files (written latin-1, so the last one is not UTF-8)."""


# ------------------------------------------------------------------ the workspace

def build_workspace(w: Path) -> None:
    """Every input the cases name, under ``w`` (the cases must leave all of it unchanged)."""
    (w / "trials.tsv").write_text(VALID_TRIALS)
    for name, (data, file) in BROKEN_TABLES.items():
        (w / "tables" / name).mkdir(parents=True)
        (w / "tables" / name / file).write_bytes(data)
    for name, (text, _) in BROKEN_PROTOCOLS.items():
        (w / "protocols").mkdir(exist_ok=True)
        (w / "protocols" / f"{name}.toml").write_text(text, encoding="utf-8")
    (w / "protocols" / "latin-1.toml").write_bytes(PROTOCOL_TEXT.replace("Flesch", "Flésch").encode("latin-1"))
    (w / "fits.tsv").write_text(VALID_FITS)
    (w / "fits.json").write_text(json.dumps({"completed": True}))
    for name, (text, _) in BROKEN_FITS.items():
        (w / "fits" / name).mkdir(parents=True)
        (w / "fits" / name / "fits.tsv").write_text(text)
        (w / "fits" / name / "fits.json").write_text(json.dumps({"completed": True}))
    (w / "fits" / "no-sidecar").mkdir()
    (w / "fits" / "no-sidecar" / "fits.tsv").write_text(_tsv(pd.DataFrame(FITS_ROWS).assign(objective="bernoulli")))
    (w / "fits" / "one-family").mkdir()
    one_family = pd.DataFrame(FITS_ROWS).replace({"model": {"linear": "factorized_full"}})
    (w / "fits" / "one-family" / "fits.tsv").write_text(_tsv(one_family))
    (w / "fits" / "cut").mkdir()
    (w / "fits" / "cut" / "fits.tsv").write_text(VALID_FITS)
    (w / "fits" / "cut" / "fits.json").write_text(json.dumps({"completed": False}))
    _stimulus_sets(w)
    _interrupted(w)
    (w / "strings").mkdir()
    base = (Path(PROTOCOLS["flesch2022"]).parent.parent / "strings" / "arrangement_en.toml").read_text()
    (w / "strings" / "placeholder.toml").write_text(base.replace('instructions = """', 'instructions = """{nope} ', 1))
    (w / "strings" / "brace.toml").write_text(base.replace('instructions = """', 'instructions = """{', 1))
    (w / "strings" / "missing.toml").write_text("x = 'y'\n")
    (w / "strings" / "not-toml.toml").write_text("= = =\n")
    (w / "existing.tsv").write_text("a\n1\n")
    (w / "existing.png").write_bytes(PNG)
    (w / "nonempty").mkdir()
    (w / "nonempty" / "notes.txt").write_text("someone else's folder\n")
    (w / "a-file").write_text("not a folder\n")
    _results(w)
    _damaged_results(w)
    _scanner_inputs(w)
    _corrupt_files(w)


def _stimulus_sets(w: Path) -> None:
    good = w / "set"
    good.mkdir()
    for b in range(1, 6):
        for l in range(1, 6):
            (good / f"B{b}L{l}_1.png").write_bytes(PNG)
    for name, text in BROKEN_MANIFESTS.items():
        folder = w / "sets" / name
        shutil.copytree(good, folder)
        (folder / "manifest.json").write_bytes(text.encode("latin-1"))
    garbage = w / "sets" / "garbage-png"
    shutil.copytree(good, garbage)
    (garbage / "B3L3_1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    truncated = w / "sets" / "truncated-png"
    shutil.copytree(good, truncated)
    (truncated / "B2L4_1.png").write_bytes(PNG[: len(PNG) // 2])
    short = w / "sets" / "missing-cell"
    shutil.copytree(good, short)
    (short / "B5L5_1.png").unlink()
    pixels = hashlib.sha256(Image.open(io.BytesIO(PNG)).convert("RGBA").tobytes()).hexdigest()
    manifest = {"completed": True, "files": {p.name: {"pixels_sha256": pixels} for p in sorted(good.glob("*.png"))}}
    for name in ("unlisted", "tampered"):
        shutil.copytree(good, w / "sets" / name)
        (w / "sets" / name / "manifest.json").write_text(json.dumps(manifest))
    (w / "sets" / "unlisted" / "B1L1_2.png").write_bytes(PNG)  # a tree the manifest does not vouch for
    one_pixel = io.BytesIO()
    Image.new("RGB", (1, 1)).save(one_pixel, format="PNG")
    (w / "sets" / "tampered" / "B2L2_1.png").write_bytes(one_pixel.getvalue())


def _interrupted(w: Path) -> None:
    """Inputs left by interrupted runs: an unfinished session, an unfinished import, a train folder."""
    session = w / "unfinished" / "sub-P1" / "ses-1" / "beh"
    session.mkdir(parents=True)
    trials = _trials("P1")
    write_table(trials.iloc[:37], session / "sub-P1_ses-1_task-garden_beh.tsv")
    (session / "sub-P1_ses-1_task-garden_beh.json").write_text(json.dumps({"completed": False, "n_trials": 100}))
    imported = w / "half-imported" / "sub-P1" / "ses-1" / "beh"
    imported.mkdir(parents=True)
    write_table(trials, imported / "sub-P1_ses-1_task-garden_beh.tsv")
    (w / "half-imported" / "import-incomplete.json").write_text(json.dumps({"files": []}))
    damaged = w / "damaged-sidecar" / "sub-P1" / "ses-1" / "beh"
    damaged.mkdir(parents=True)
    write_table(trials, damaged / "sub-P1_ses-1_task-garden_beh.tsv")
    (damaged / "sub-P1_ses-1_task-garden_beh.json").write_text('{"completed": tr')
    finished = w / "finished-sweep"
    finished.mkdir()
    (finished / "sweep.json").write_text("{}")
    (finished / "summary.json").write_text("{}")
    foreign = w / "foreign-sweep"
    foreign.mkdir()
    (foreign / "sweep.json").write_text('{"config": {"sweep": {}, "n_shards": 1}}')
    broken = w / "broken-sweep"
    broken.mkdir()
    (broken / "sweep.json").write_text('{"config": ')
    stray = w / "stray-results"
    stray.mkdir()
    (stray / "results.npz").write_bytes(b"PK\x03\x04 half a zip")


def _results(w: Path) -> None:
    """A results folder for ``report`` (its tables are only read when the arguments are good)."""
    tables = w / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "bms.tsv").write_text("model\texpected_frequency\nfactorized\t0.7\nlinear\t0.3\n")
    (w / "results" / "data.html").write_text("participant_id\tchoice\nP1\t1\n")


def _damaged_results(w: Path) -> None:
    """Results folders as a cut or tampered demo leaves them: ``damaged/<kind>/tables/``."""
    good = "model\texpected_frequency\nfactorized\t0.6\nlinear\t0.3\ngating\t0.1\n"
    record = {"config": {}, "seed": 0, "completed": True, "n_rows": 3}
    kinds = {"no-sidecar": (good, None),
             "header-only": (good.split("\n")[0] + "\n", {k: v for k, v in record.items() if k != "n_rows"}),
             "cut-line": (good[:-4], record), "rows-lost": (good.rsplit("\n", 2)[0] + "\n", record),
             "text-in-numbers": (good.replace("0.3", "0.3x"), record),
             "unfinished": (good, {**record, "completed": False}),
             "sidecar-damaged": (good, '{"completed": tr'), "nan-row": (good + "\t\n", record),
             "nan-only": (good.replace("0.6", "nan").replace("0.3", "NaN").replace("0.1", ""), record),
             "newer-layout": (good, {**record, "sidecar_version": 99})}
    for kind, (text, sidecar) in kinds.items():
        tables = w / "damaged" / kind / "tables"
        tables.mkdir(parents=True)
        (tables.parent / "run.json").write_text(json.dumps({"completed": True, "tables": ["bms"]}))
        (tables / "bms.tsv").write_text(text)
        if sidecar is not None:
            (tables / "bms.json").write_text(sidecar if isinstance(sidecar, str) else
                                            json.dumps({k: v for k, v in sidecar.items() if v is not None}))
    missing = w / "damaged" / "missing-table" / "tables"
    missing.mkdir(parents=True)
    (missing / "bms.tsv").write_text(good)
    (missing / "bms.json").write_text(json.dumps(record))
    (missing.parent / "run.json").write_text(json.dumps({"completed": True, "tables": ["bms", "fits"]}))
    loop = w / "damaged" / "link-loop" / "tables"
    loop.mkdir(parents=True)
    (loop / "fits.tsv").symlink_to(loop / "fits.tsv")


def _scanner_inputs(w: Path) -> None:
    """Scanner sessions for ``neural simulate``: unfinished, with events cut short, with an onset far away."""
    tree = _trials("P1").assign(trial_type="tree", onset=np.arange(100) * 4.0, duration=1.0)
    events = tree[["onset", "duration", "trial_type", "context", "branchiness", "leafiness"]]
    for kind, rows, behaviour in (("unfinished", events, {"completed": False}), ("cut-events", events.iloc[:30], None),
                                  ("foreign", events, None),
                                  ("far-onset", events.assign(onset=events.onset.where(events.index > 0, 1e12)), None)):
        session = w / "scan" / kind / "sub-P1" / "ses-2"
        (session / "func").mkdir(parents=True)
        (session / "beh").mkdir()
        rows.to_csv(session / "func" / "sub-P1_ses-2_task-garden_run-1_events.tsv", sep="\t", index=False)
        write_table(_trials("P1"), session / "beh" / "sub-P1_ses-2_task-garden_beh.tsv")
        if behaviour is not None:
            (session / "beh" / "sub-P1_ses-2_task-garden_beh.json").write_text(json.dumps(behaviour))


def _corrupt_files(w: Path) -> None:
    """Cut or disguised NIfTI, MATLAB and JSON-lines files (``corrupt/``), and one good mask."""
    folder = w / "corrupt"
    folder.mkdir()
    noise = np.random.default_rng(0).standard_normal((20, 20, 20)).astype(np.float32)  # compresses little
    volume = nibabel.Nifti1Image(noise, np.eye(4))
    volume.to_filename(folder / "whole.nii.gz")
    data = (folder / "whole.nii.gz").read_bytes()
    (folder / "cut.nii.gz").write_bytes(data[: len(data) // 2])
    header = volume.header.copy()
    header.set_data_shape((2000, 2000, 2000))
    (folder / "huge.nii").write_bytes(header.binaryblock + bytes(4) + bytes(64))
    (folder / "text.nii.gz").write_text("not an image\n")
    nibabel.Nifti1Image(np.ones((20, 10, 10), np.uint8), np.eye(4)).to_filename(folder / "brain.nii.gz")  # a good mask
    half = np.zeros((20, 10, 10))
    half[5:10, 3:6, 3:6] = 0.5
    nibabel.Nifti1Image(half, np.eye(4)).to_filename(folder / "half.nii.gz")
    half[0, 0, 0] = np.nan
    nibabel.Nifti1Image(half, np.eye(4)).to_filename(folder / "nan.nii.gz")
    buffer = io.BytesIO()
    savemat(buffer, {"unit": {"rates": np.arange(100.0)}})
    (folder / "cut.mat").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (folder / "text.mat").write_text("not a MATLAB file\n" * 10)
    (folder / "empty.mat").write_bytes(b"")
    (folder / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (folder / "empty.jsonl").write_text("")
    (folder / "twice.jsonl").write_text('{"kind": "session", "kind": "trial"}\n')


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    w = tmp_path_factory.mktemp("fuzz")
    build_workspace(w)
    old = Path.cwd()
    os.chdir(w)  # commands with default output folders (participants/) would write here: it is watched too
    yield w
    os.chdir(old)


@pytest.fixture(scope="module")
def watch(workspace) -> "FolderWatch":
    """The workspace watched from before the first case on (``FolderWatch``)."""
    with FolderWatch(workspace) as watcher:
        yield watcher


CHANGES = (flags.CREATE | flags.DELETE | flags.MODIFY | flags.ATTRIB | flags.CLOSE_WRITE | flags.MOVED_FROM
           | flags.MOVED_TO | flags.DELETE_SELF | flags.MOVE_SELF)
"""The inotify events that mean a change: any write, open for writing, creation (a temporary file removed again
included), removal, rename, or change of mode or time stamps. Reading (open, access) is none."""


class FolderWatch:
    """Every change under a folder since the last ``changes()``, from the kernel (Linux inotify, through
    inotify_simple): a case asks after it ran, with no walk of the folder (a walk of the workspace's 834 entries took
    4.5 ms a case, 9 s of CPU over the 2 100 cases), and sees what a walk would miss, such as a file written and
    removed again."""

    def __init__(self, folder: Path) -> None:
        self.root, self.inotify = folder, INotify(nonblocking=True)
        self.folders: dict[int, str] = {}
        self._watch_new_folders()

    def __enter__(self) -> "FolderWatch":
        return self

    def __exit__(self, *exc) -> None:
        self.inotify.close()

    def _watch_new_folders(self) -> None:
        """Watch the folder and every folder under it not yet watched (also those a change created)."""
        watched = set(self.folders.values())
        for path, _, _ in os.walk(self.root):
            if path not in watched:
                self.folders[self.inotify.add_watch(path, CHANGES)] = path

    def changes(self) -> list[str]:
        """The paths changed since the last call (a queue that overflowed counts as a change of the folder)."""
        events = self.inotify.read(timeout=0)
        changed = [os.path.join(self.folders.get(e.wd, "?"), e.name) for e in events if e.mask & ~flags.IGNORED]
        if changed:
            self._watch_new_folders()
        return changed


def test_the_watch_sees_every_kind_of_change(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.tsv").write_text("x\n")
    with FolderWatch(tmp_path) as watch:
        (tmp_path / "a.tsv").read_text()
        assert watch.changes() == []  # reading is not a change
        os.utime(tmp_path / "a.tsv", ns=(1, 1))
        assert watch.changes() == [str(tmp_path / "a.tsv")]
        (tmp_path / "sub" / "b.tsv.partial").write_text("")
        (tmp_path / "sub" / "b.tsv.partial").unlink()  # written and removed: no trace a walk could see
        assert set(watch.changes()) == {str(tmp_path / "sub" / "b.tsv.partial")}
        (tmp_path / "new").mkdir()
        assert watch.changes() == [str(tmp_path / "new")]
        (tmp_path / "new" / "c.json").write_text("{}")  # in a folder a change created: watched from then on
        assert set(watch.changes()) == {str(tmp_path / "new" / "c.json")}
        (tmp_path / "a.tsv").rename(tmp_path / "sub" / "a.tsv")
        assert set(watch.changes()) == {str(tmp_path / "a.tsv"), str(tmp_path / "sub" / "a.tsv")}
        assert watch.changes() == []


# ------------------------------------------------------------------ the cases

INT_GARBAGE = ["abc", "", "1.5", "1e3", "0x10", "nan", "inf", "99999999999999999999999", "--", "½"]
FLOAT_GARBAGE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "abc", "", "1,5", "0x1p3"]


def int_values(low: int, high: int | None) -> list[str]:
    values = INT_GARBAGE + [str(low - 1), str(low - 1000)]
    if high is not None:
        values += [str(high + 1), str(high * 1000)]
    return values


def float_values(low: float | None, high: float | None, above: bool) -> list[str]:
    values = list(FLOAT_GARBAGE)
    if low is not None:
        values += [repr(low - 1.0), repr(low - 1e-300) if not above else repr(low)]
        if above:
            values.append(repr(-abs(low) - 5.0))
    if high is not None:
        values += [repr(high * 10 + 1), "1e300"]
    return values


NUMBERS: dict[str, tuple[tuple[str, ...], list[tuple[str, str, tuple]]]] = {
    # command: (valid argv, [(option, kind, (bounds))])
    "fit": (("fit", "trials.tsv", "--out", "new/fits.tsv"),
            [("--max-rt", "float", (0.0, None, True)), ("--starts", "int", (1, 1000)), ("--jobs", "int", (1, 64)),
             ("--bootstrap", "int", (0, 10_000))]),
    "bms": (("bms", "fits.tsv", "--out", "new/bms.tsv"),
            [("--prior", "float", (0.0, 1e6, True)), ("--seed", "int", (0, 2**32 - 1))]),
    "recover": (("recover", "--out", "new/recovery", "--n-sim", "1", "--trials", "100"),
                [("--n-sim", "int", (1, 1000)), ("--rule-code", "int", (1, 8)), ("--seed", "int", (0, 2**32 - 1)),
                 ("--jobs", "int", (1, 64))]),
    "run": (("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "new/participants"),
            [("--session", "int", (1, 1000)), ("--seed", "int", (0, 2**32 - 1)), ("--agent-seed", "int", (0, 2**32 - 1)),
             ("--pace", "float", (0.0, 60.0, False))]),
    "arrange": (("arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", "new/participants"),
                [("--session", "int", (1, 1000)), ("--arrangements", "int", (1, 50)), ("--seed", "int", (0, 2**32 - 1))]),
    "stimuli make": (("stimuli", "make", "--out", "new/set", "--exemplars", "1", "--size", "8"),
                     [("--exemplars", "int", (1, 1000)), ("--size", "int", (8, 2048)), ("--seed", "int", (0, 2**32 - 1)),
                      ("--jobs", "int", (1, 64))]),
    "stimuli sheet": (("stimuli", "sheet", "set", "--out", "new/sheet.png"), [("--cell-px", "int", (8, 1024))]),
    "stimuli check": (("stimuli", "check", "set"), [("--min-exemplars", "int", (1, 1000))]),
    "train": (("train", "--scales", "1", "--ctx-scales", "1", "--seeds", "1", "--steps", "1", "--out", "new/sweep"),
              [("--seeds", "int", (1, 1000)), ("--first-seed", "int", (0, 2**32 - 1)), ("--steps", "int", (0, 1_000_000)),
               ("--lr", "float", (0.0, 10.0, True)), ("--hidden", "int", (1, 10_000)), ("--l2", "float", (0.0, 100.0, False)),
               ("--image-size", "int", (8, 128)), ("--rule-code", "int", (1, 8)),
               ("--context-offset", "float", (0.0, 1e3, False)), ("--record-every", "int", (1, 1_000_000)),
               ("--threads", "int", (0, 256)), ("--shards", "int", (1, 10_000)), ("--timeout-min", "int", (1, 10_080)),
               ("--scales", "float", (0.0, None, True)), ("--ctx-scales", "float", (0.0, None, False))]),
    "demo": (("demo", "--out", "new/demo"),
             [("--participants", "int", (2, 1000)), ("--seed", "int", (0, 2**32 - 1)), ("--network-seeds", "int", (1, 1000)),
              ("--steps", "int", (1, 1_000_000)), ("--recovery-agents", "int", (1, 1000)), ("--dpi", "int", (10, 600)),
              ("--scanner-participants", "int", (0, 1000)), ("--scales", "float", (0.0, None, True)), ("--ctx-scales", "float", (0.0, None, False))]),
    "report": (("report", "results", "--out", "new/report.html"), [("--dpi", "int", (10, 600))]),
    "neural simulate": (("neural", "simulate", "nonempty", "--out", "new/bold"),
                        [("--voxel-mm", "float", (0.0, 100.0, True)), ("--snr", "float", (0.0, 1e3, False)),
                         ("--ar1", "float", (0.0, 0.99, False)), ("--tr", "float", (0.0, 60.0, True)),
                         ("--seed", "int", (0, 2**32 - 1))]),
    "neural glm": (("neural", "glm", "nonempty", "--mask", "trials.tsv", "--out", "new/glm"),
                   [("--high-pass", "float", (0.0, 10.0, True)), ("--drift-order", "int", (0, 10)),
                    ("--tr", "float", (0.0, 60.0, True)), ("--jobs", "int", (1, 64)),
                    ("--timeout-min", "int", (1, 10_080))]),
    "neural rdms": (("neural", "rdms", "nonempty", "--out", "new/rdms", "--roi", "a=trials.tsv"),
                    [("--threads", "int", (1, 256))]),
    "neural searchlight": (("neural", "searchlight", "nonempty", "--mask", "trials.tsv", "--out", "new/sl"),
                           [("--radius", "float", (0.0, 100.0, False)), ("--min-fraction", "float", (0.0, 1.0, False)),
                            ("--threads", "int", (1, 256)), ("--jobs", "int", (1, 64)),
                            ("--timeout-min", "int", (1, 10_080))]),
    "neural stats": (("neural", "stats", "nonempty", "--out", "new/stats"),
                     [("--n-perm", "int", (1, 1_000_000)), ("--n-boot", "int", (1, 1_000_000)),
                      ("--restarts", "int", (1, 1000)), ("--fdr", "float", (0.0, 1.0, True)),
                      ("--seed", "int", (0, 2**32 - 1))]),
    "neural networks": (("neural", "networks", "nonempty", "--fits", "nonempty", "--trials", "trials.tsv",
                         "--out", "new/evidence"),
                        [("--n-boot", "int", (1, 1_000_000)), ("--seed", "int", (0, 2**32 - 1))]),
    "session-report": (("session-report", "trials.tsv", "--out", "new/session.html"),
                       [("--too-slow", "float", (0.0, 60.0, True)), ("--seed", "int", (0, 2**32 - 1)),
                        ("--dpi", "int", (10, 600))]),
    "neural mante": (("neural", "mante", "trials.tsv", "--out", "new/mante"),
                     [("--splits", "int", (2, 100)), ("--restarts", "int", (1, 1000)), ("--seed", "int", (0, 2**32 - 1))]),
}
"""Every numeric option of every command, with its bounds: (low, high) for ints, (low, high, low excluded) for floats."""


def number_cases() -> list[Case]:
    cases = []
    for command, (argv, options) in NUMBERS.items():
        for option, kind, bounds in options:
            values = int_values(*bounds) if kind == "int" else float_values(*bounds)
            for value in dict.fromkeys(values):
                if (option.endswith("scales") or option in ("--l2", "--lr")) and value == "1,5":  # a valid list
                    continue
                cases.append(Case(command, (*argv, f"{option}={value}"), option))
    return cases


def table_cases() -> list[Case]:
    cases = []
    for name, (_, file) in BROKEN_TABLES.items():
        path = f"tables/{name}/{file}"
        needle = file if name != "not-a-table-suffix" else "t.txt"
        cases += [Case("validate", ("validate", path), needle),
                  Case("validate", ("validate", f"tables/{name}"), "tables/"),
                  Case("fit", ("fit", path, "--out", "new/fits.tsv"), needle),
                  Case("import", ("import", path, "--out", "new/imported"), needle),
                  Case("train", ("train", "--curriculum", path, "--out", "new/curriculum", "--seeds", "1"), needle)]
    return cases


def protocol_cases() -> list[Case]:
    cases = []
    names = [*BROKEN_PROTOCOLS, "latin-1"]
    for name in names:
        needle = BROKEN_PROTOCOLS[name][1] if name in BROKEN_PROTOCOLS else "UTF-8"
        path = f"protocols/{name}.toml"
        cases += [Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1",
                               "--out", "new/participants", "--protocol", path), needle),
                  Case("run", ("run", "--simulate", "learner", "--participant", "P2", "--session", "2",
                               "--out", "new/participants", "--protocol", path, "--agent-params", "slope=4"), needle),
                  Case("demo", ("demo", "--out", "new/demo", "--protocol", path), needle)]
    cases.append(Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1",
                              "--out", "new/p", "--protocol", "no-such-protocol"), "no-such-protocol"))
    return cases


AGENT_PARAMS = {
    "lapse": ["-0.1", "1.5", "2", "nan", "inf", "-inf", "1e400"],
    "slope": ["1e400", "-1e400", "nan", "inf", "1e9"],
    "delta": ["nan", "inf", "1000", "-1e300"],
    "offset": ["nan", "inf", "1e6"],
    "rt_mean_s": ["inf", "nan", "0", "-1", "1e9", "0.1"],
    "rt_min_s": ["-0.5", "nan", "inf", "100"],
    "learning_tau": ["-1", "nan", "inf", "1e300"],
}
MALFORMED_PARAMS = ["slope", "slope=", "=5", "slope=five", "slope=5,,lapse", "unknown=1", "delta_east=3",
                    "slope=5;lapse=0.1", "slope:5", "lapse=0x"]


def agent_cases() -> list[Case]:
    base = ("run", "--participant", "P1", "--session", "1", "--out", "new/participants")
    cases = []
    for agent in ("factorized", "learner"):
        for name, values in AGENT_PARAMS.items():
            for value in values:
                cases.append(Case("run", (*base, "--simulate", agent, "--agent-params", f"{name}={value}"), name))
        for text in MALFORMED_PARAMS:
            cases.append(Case("run", (*base, "--simulate", agent, "--agent-params", text), "agent"))
    for agent in ("nobody", "", "factorized_full", "../x"):
        cases.append(Case("run", (*base, "--simulate", agent), "agent"))
    for pid in ("", "P 1", "../P1", "P" * 65, "P" * 300, "é1", "P1/", "-P1"):
        cases.append(Case("run", ("run", "--simulate", "factorized", f"--participant={pid}", "--session", "1",
                                  "--out", "new/participants"), "participant"))
        cases.append(Case("arrange", ("arrange", f"--participant={pid}", "--session", "1", "--phase", "pre",
                                      "--out", "new/participants"), "participant"))
    return cases


def fits_cases() -> list[Case]:
    cases = []
    for name, (_, needle) in BROKEN_FITS.items():
        for extra in ((), ("--criterion", "aic") if needle != "bic" else ("--by", "group")):
            cases.append(Case("bms", ("bms", f"fits/{name}/fits.tsv", "--out", "new/bms.tsv", *extra), needle))
    cases += [
        Case("bms", ("bms", "fits/cut/fits.tsv", "--out", "new/bms.tsv"), "--include-incomplete"),
        *with_options("bms", ("bms", "fits.tsv", "--out", "new/bms.tsv"), {
            ("--by", "nope"): "nope", ("--models", "factorized,nope"): "nope", ("--models", ""): "--models",
            ("--models", "linear,linear"): "--models", ("--lrt", "new/bms.tsv"): "--lrt",
            ("--winners", "new/./bms.tsv"): "--winners"}),
        Case("bms", ("bms", "fits.tsv", "--out", "new/b.tsv", "--winners", "new/w.tsv", "--lrt", "new/w.tsv"), "--lrt"),
        Case("bms", ("bms", "no-such.tsv", "--out", "new/bms.tsv"), "no-such.tsv"),
        Case("bms", ("bms", "set", "--out", "new/bms.tsv"), "set"),
        Case("bms", ("bms", "fits.tsv", "--out", "existing.tsv"), "existing.tsv"),
        Case("bms", ("bms", "fits.tsv", "--out", "fits.tsv"), "fits.tsv"),
        Case("bms", ("bms", "fits.tsv", "--out", "new/bms.csv"), "bms.csv"),
        Case("bms", ("bms", "fits.tsv", "--out", "new/bms.tsv", "--criterion", "waic"), "--criterion"),
    ]
    for models in ("", ",", "nope", "factorized,factorized", "linear;factorized", " "):
        cases.append(Case("fit", ("fit", "trials.tsv", "--out", "new/fits.tsv", f"--models={models}"), "--models"))
        cases.append(Case("recover", ("recover", "--out", "new/rec", f"--models={models}"), "--models"))
    for trials in ("", "0", "49", "100,abc", "1e8", "100000000", "-50", "nan", "100,x", "50.0"):
        cases.append(Case("recover", ("recover", "--out", "new/rec", f"--trials={trials}"), "--trials"))
    for codes in ("", "0", "9", "1,x", "nan"):
        cases.append(Case("recover", ("recover", "--out", "new/rec", f"--rule-codes={codes}"), "--rule-codes"))
    cases += [Case("recover", ("recover", "--out", "nonempty"), "nonempty"),
              Case("recover", ("recover", "--out", "a-file"), "a-file"),
              Case("recover", ("recover", "--out", "new/rec", "--objective", "mse"), "--objective")]
    return cases


def stimuli_cases() -> list[Case]:
    cases = []
    for name in [*BROKEN_MANIFESTS, "garbage-png", "truncated-png", "missing-cell"]:
        folder = f"sets/{name}"
        cases += [Case("stimuli check", ("stimuli", "check", folder), name),
                  Case("stimuli sheet", ("stimuli", "sheet", folder, "--out", "new/sheet.png"), name),
                  Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1",
                               "--out", "new/participants", "--stimuli", folder), name),
                  Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre",
                                   "--out", "new/participants", "--stimuli", folder), name)]
    cases += [
        Case("stimuli sheet", ("stimuli", "sheet", "set", "--out", "existing.png"), "existing.png"),
        Case("stimuli sheet", ("stimuli", "sheet", "set", "--out", "new/sheet.jpg"), "sheet.jpg"),
        Case("stimuli sheet", ("stimuli", "sheet", "set", "--out", "new/sheet.png", "--exemplar", "7"), "B1L1_7"),
        Case("stimuli sheet", ("stimuli", "sheet", "no-such-set", "--out", "new/sheet.png"), "no-such-set"),
        Case("stimuli sheet", ("stimuli", "sheet", "trials.tsv", "--out", "new/sheet.png"), "trials.tsv"),
        Case("stimuli sheet", ("stimuli", "sheet", "set", "--out", "a-file/sheet.png"), "a-file"),
        Case("stimuli check", ("stimuli", "check", "set", "--min-exemplars", "2"), "exemplars"),
        *(Case("stimuli sheet", ("stimuli", "sheet", f"sets/{name}", "--out", "new/sheet.png"), needle)
          for name, needle in (("unlisted", "B1L1_2.png (not in the manifest)"), ("tampered", "B2L2_1.png"))),
        Case("stimuli check", ("stimuli", "check", "no-such-set"), "no-such-set"),
        Case("stimuli check", ("stimuli", "check", "tables"), "tables"),
        Case("stimuli make", ("stimuli", "make", "--out", "nonempty", "--exemplars", "1", "--size", "8"), "nonempty"),
        Case("stimuli make", ("stimuli", "make", "--out", "a-file", "--exemplars", "1", "--size", "8"), "a-file"),
        Case("stimuli make", ("stimuli", "make", "--out", "set", "--exemplars", "1", "--size", "8"), "set"),
        Case("stimuli make", ("stimuli", "make", "--out", "new/set", "--exemplars", "1"), "--size"),
        Case("stimuli", ("stimuli",), "stimuli"),
        Case("stimuli", ("stimuli", "paint"), "paint"),
    ]
    return cases


def neural_cases() -> list[Case]:
    """Paths, executors and ROI options of ``garden neural`` (the numbers are in NUMBERS)."""
    glm = ("neural", "glm", "nonempty", "--mask", "trials.tsv", "--out", "new/glm")
    light = ("neural", "searchlight", "nonempty", "--mask", "trials.tsv", "--out", "new/sl")
    rdms = ("neural", "rdms", "nonempty", "--out", "new/rdms")
    return [
        Case("neural simulate", ("neural", "simulate", "no-such-folder", "--out", "new/bold"), "no-such-folder"),
        Case("neural simulate", ("neural", "simulate", "trials.tsv", "--out", "new/bold"), "trials.tsv"),
        Case("neural simulate", ("neural", "simulate", "nonempty", "--out", "a-file"), "a-file"),
        Case("neural simulate", ("neural", "simulate", "nonempty", "--out", "nonempty"), "nonempty"),
        *(Case("neural simulate", ("neural", "simulate", "nonempty", "--out", "new/b", "--shape", shape), "--shape")
          for shape in ("10,10", "2,10,10", "1000,10,10", "a,b,c", "")),
        Case("neural simulate", ("neural", "simulate", "nonempty", "--out", "new/b", "--rois", "rich:nope:1,1,1:2"),
             "--rois"),
        Case("neural glm", ("neural", "glm", "nonempty", "--mask", "no-such.nii.gz", "--out", "new/glm"), "no-such"),
        Case("neural glm", ("neural", "glm", "nonempty", "--out", "new/glm"), "sub-"),
        Case("neural glm", (*glm, "--filter", "acq"), "--filter"),
        Case("neural glm", (*glm, "--conditions", "colour=red"), "--conditions"),
        Case("neural glm", (*glm, "--derivatives", "no-such-folder"), "no-such-folder"),
        Case("neural sensitivity", ("neural", "sensitivity", "nonempty", "--out", "new/s"), "no ROI"),
        Case("neural glm", (*glm, "--executor", "pbs"), "--executor"),
        Case("neural glm", (*glm, "--executor", "slurm"), "slurm"),
        Case("neural glm", (*glm, "--hrf", "boxcar"), "--hrf"),
        Case("neural glm", (*glm, "--noise-model", "ar2"), "--noise-model"),
        Case("neural glm", ("neural", "glm", "set", "--mask", "trials.tsv", "--out", "new/glm"), "sub-"),
        Case("neural searchlight", (*light, "--executor", "slurm"), "slurm"),
        Case("neural searchlight", (*light, "--method", "euclidean"), "--method"),
        Case("neural searchlight", (*light, "--models", "grid,nope"), "nope"),
        Case("neural searchlight", (*light, "--radius-unit", "cm"), "--radius-unit"),
        Case("neural rdms", rdms, "no ROI"),
        Case("neural rdms", (*rdms, "--roi", "rich"), "--roi"),
        Case("neural rdms", (*rdms, "--roi", "ri-ch=trials.tsv"), "--roi"),
        Case("neural rdms", (*rdms, "--roi", "a=no-such.nii.gz"), "no-such.nii.gz"),
        Case("neural rdms", (*rdms, "--roi", "a=trials.tsv"), "trials.tsv"),
        Case("neural rdms", (*rdms, "--roi", "a=trials.tsv", "--roi", "a=fits.tsv"), "twice"),
        Case("neural rdms", (*rdms, "--atlas", "trials.tsv"), "--atlas-labels"),
        Case("neural rdms", (*rdms, "--atlas", "no-such.nii.gz", "--atlas-labels", "trials.tsv"), "no-such.nii.gz"),
        Case("neural rdms", (*rdms, "--atlas", "trials.tsv", "--atlas-labels", "trials.tsv"), "trials.tsv"),
        Case("neural rdms", (*rdms, "--atlas-rois", ""), "--atlas-rois"),
        Case("neural rdms", (*rdms, "--atlas-rois", "a,a"), "--atlas-rois"),
        Case("neural rdms", (*rdms, "--roi", "a=trials.tsv", "--atlas-rois", "a"), "--atlas"),
        Case("neural stats", ("neural", "stats", "nonempty", "--out", "new/stats", "--searchlight", "nonempty"),
             "--mask"),
        Case("neural stats", ("neural", "stats", "nonempty", "--out", "new/stats", "--roi", "a=trials.tsv"),
             "--searchlight"),
        Case("neural stats", ("neural", "stats", "nonempty", "--out", "new/stats"), "roi"),
        Case("neural stats", ("neural", "stats", "no-such-folder", "--out", "new/stats"), "no-such-folder"),
        Case("neural mante", ("neural", "mante", "no-such.mat", "--out", "new/m"), "no-such.mat"),
        Case("neural mante", ("neural", "mante", "trials.tsv", "--out", "new/m", "--window", "0.1"), "--window"),
        *(Case(f"neural {argv[1]}", argv, needle) for argv, needle in (
            ((*glm, "--conditions", "context=a,,branchiness=b"), "--conditions"),
            ((*glm, "--conditions", "context=a,context=b"), "--conditions"),
            ((*glm, "--participants", "P1,,P2"), "--participants"),
            ((*glm, "--filter", "acq=a", "--filter", "acq=b"), "--filter"),
            ((*light, "--models", "grid,"), "--models"),
            ((*rdms, "--atlas-rois", "a,,b"), "--atlas-rois"),
            ((*rdms, "--roi", "a=trials.tsv", "--roi", "a=trials.tsv"), "twice"),
            (("neural", "simulate", "nonempty", "--out", "new/b", "--participants", "P1,,P2"), "--participants"),
            (("neural", "stats", "nonempty", "--out", "new/stats", "--models", ",grid"), "--models"))),
        *(Case("train", ("train", "--out", "new/nets", *argv), needle) for argv, needle in (
            (("--l2", "0,,0.1"), "--l2"), (("--scales", "0.01,3,", "--ctx-scales", "0.5,1.5"), "--scales"))),
        Case("neural", ("neural",), "STEP"),
        Case("neural", ("neural", "frobnicate"), "frobnicate"),
    ]


DAMAGED_RESULTS = {"no-sidecar": "no sidecar", "header-only": "no rows", "cut-line": "cut",
                   "rows-lost": "sidecar says 3",
                   "text-in-numbers": "0.3x", "unfinished": "completed: false", "sidecar-damaged": "bms.json",
                   "nan-row": "bms.tsv", "nan-only": "every value in them is missing",
                   "newer-layout": "sidecar_version", "missing-table": "fits.tsv is missing",
                   "link-loop": "fits.tsv"}
"""Damaged results folders under ``damaged/`` and what ``garden report`` must name."""


def integrity_cases() -> list[Case]:
    """Unfinished inputs at every entry point, damaged results, corrupt binary and JSON files."""
    cases = [Case("report", ("report", f"damaged/{kind}", "--out", "new/report.html"), needle)
             for kind, needle in DAMAGED_RESULTS.items()]
    run = ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "new/p")
    cases += [Case("run", (*run, "--agent-params", "slope=1,slope=2"), "twice"),
              Case("run", (*run, "--screenshots", "new/shots"), "--window"),
              Case("fit", ("fit", "trials.tsv", "--out", "new/f.tsv", "--profile", "--objective", "choice-matrix"),
                   "--profile"),
              Case("web serve", ("web", "serve", "--host", "", "--out", "new/p"), "--host"),
              Case("web serve", ("web", "serve", "--host", "999.1.1.1", "--out", "new/p"), "999.1.1.1"),
              Case("neural searchlight", ("neural", "searchlight", "nonempty", "--mask", "corrupt/brain.nii.gz",
                                          "--out", "new/sl", "--radius", "100"), "--radius"),
              Case("train", ("train", "--scales", "1e308", "--ctx-scales", "1", "--out", "new/t"), "--scales")]
    cases += [Case("session-report", ("session-report", "unfinished", "--out", "new/s.html"), "--include-incomplete"),
              Case("train", ("train", "--curriculum", "unfinished", "--out", "new/t"), "--include-incomplete"),
              Case("import", ("import", "unfinished/sub-P1/ses-1/beh/sub-P1_ses-1_task-garden_beh.tsv",
                              "--out", "new/imp"), "--include-incomplete"),
              *(Case("neural simulate", ("neural", "simulate", f"scan/{folder}", "--out", "new/b", *extra), needle)
                for folder, extra, needle in (("unfinished", (), "--include-incomplete"),
                                              ("cut-events", (), "50 conditions"),
                                              ("far-onset", (), "GARDEN_MAX_MEMORY_GIB"),
                                              ("foreign", ("--shape", "512,512,512"), "GARDEN_MAX_MEMORY_GIB"),
                                              ("foreign", ("--tr", "1e-9"), "GARDEN_MAX_MEMORY_GIB")))]
    cases += [Case("neural rdms", ("neural", "rdms", "nonempty", "--out", "new/rdms", "--roi", f"a=corrupt/{name}"),
                   needle)
              for name, needle in (("cut.nii.gz", "cut short"), ("huge.nii", "GARDEN_MAX_DECODED_GIB"),
                                   ("text.nii.gz", "text.nii.gz"))]
    cases += [Case("neural glm", ("neural", "glm", "scan/foreign", "--mask", f"corrupt/{name}", "--out", "new/glm"),
                   needle)
              for name, needle in (("half.nii.gz", "not a binary mask"), ("nan.nii.gz", "nan"),
                                   ("cut.nii.gz", "cut short"), ("huge.nii", "GARDEN_MAX_DECODED_GIB"))]
    cases += [Case("bms", ("bms", fits, "--out", "new/b.tsv", "--families", "new/f.tsv", *extra), "--families")
              for fits, extra in (("fits/one-family/fits.tsv", ()), ("fits.tsv", ("--models", "factorized")))]
    cases.append(Case("neural simulate", ("neural", "simulate", "scan/foreign", "--out", "new/x", "--participants",
                                          "P1,P1"), "twice"))
    cases += [Case("neural mante", ("neural", "mante", f"corrupt/{name}", "--out", "new/m"), name)
              for name in ("cut.mat", "text.mat", "empty.mat")]
    cases += [Case("import", ("import", f"corrupt/{name}", "--web", "--protocol", "flesch2022", "--out", "new/imp"),
                   needle)
              for name, needle in (("deep.jsonl", "nested too deeply"), ("empty.jsonl", "empty.jsonl"),
                                   ("twice.jsonl", "twice"))]
    return cases


UNREADABLE_INPUTS = {"no-such.tsv": "no-such.tsv", "unfinished": "completed: false", "half-imported": "import",
                     "damaged-sidecar": "sidecar"}
"""Inputs ``garden validate`` and ``garden fit`` refuse, and what they must name."""


def path_cases() -> list[Case]:
    long = "x" * 300
    cases = [case for path, needle in UNREADABLE_INPUTS.items()
             for case in (Case("validate", ("validate", path), needle),
                          Case("fit", ("fit", path, "--out", "new/f.tsv"), needle))]
    cases += [
        Case("validate", ("validate", "nonempty"), "nonempty"),
        Case("validate", ("validate", "existing.png"), "existing.png"),
        Case("fit", ("fit", "trials.tsv", "--out", "existing.tsv"), "existing.tsv"),
        Case("fit", ("fit", "trials.tsv", "--out", "fits.tsv"), "fits.tsv"),
        Case("fit", ("fit", "trials.tsv", "--out", "new/fits.csv"), "fits.csv"),
        Case("fit", ("fit", "trials.tsv", "--out", f"new/{long}.tsv"), "longer"),
        Case("fit", ("fit", "trials.tsv", "--out", "a-file/fits.tsv"), "a-file"),
        Case("fit", ("fit", "trials.tsv", "--out", "new/f.tsv", "--phase", "nope"), "nope"),
        Case("fit", ("fit", "trials.tsv", "--out", "new/f.tsv", "--missing", "zero"), "--missing"),
        Case("fit", ("fit", "trials.tsv"), "--out"),
        Case("import", ("import", "no-such.tsv", "--out", "new/imp"), "no-such.tsv"),
        Case("import", ("import", "nonempty", "--out", "new/imp"), "nonempty"),
        Case("import", ("import", "trials.tsv", "--out", "a-file"), "a-file"),
        Case("import", ("import", "trials.tsv", "--out", f"new/{long}"), "longer"),
        *with_options("import", ("import", "trials.tsv", "--out", "new/imp"), {
            ("--map", "participant_id=x,session=x"): "more than once", ("--map", "nope=participant_id"): "nope",
            ("--map", "participant_id"): "--map", ("--map", "=x"): "--map", ("--set", "session"): "--set",
            ("--set", "session=0"): "session", ("--set", "choice=2"): "choice",
            ("--set", "participant_id=../x"): "participant_id", ("--set", "a=1,a=2"): "more than once",
            ("--map", "rt=choice", "--set", "choice=1"): "more than once", ("--blank-invalid", "nope"): "nope",
            ("--blank-invalid", "session"): "session"}),
        Case("import", ("import", "trials.tsv", "--out", "half-imported"), "import-incomplete"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "a-file"), "a-file"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1",
                     "--out", f"new/{long}"), "longer"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1"), "--session"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "new/p",
                     "--stimuli", "no-such-set"), "no-such-set"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "new/p",
                     "--rule-code", "9"), "--rule-code"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "new/p",
                     "--curriculum", "zigzag"), "zigzag"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "9", "--out", "new/p"),
             "session"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "new/p",
                     "--resume"), "resume"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "unfinished",
                     "--resume"), "sidecar"),
        Case("run", ("run", "--simulate", "factorized", "--participant", "P1", "--session", "1", "--out", "unfinished"),
             "already exists"),
        Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "mid", "--out", "new/p"), "--phase"),
        Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", "a-file"), "a-file"),
        Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre",
                         "--out", f"new/{long}"), "longer"),
        Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", "new/p",
                         "--stimuli", "no-such-set"), "no-such-set"),
        *(Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", "new/p",
                           "--strings", f"strings/{name}.toml"), name)
          for name in ("placeholder", "brace", "missing", "not-toml")),
        Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", "new/p",
                         "--strings", "no-such.toml"), "no-such.toml"),
        *(Case("arrange", ("arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", "new/p",
                           "--window-size", *size), "--window-size")
          for size in (("-900", "900"), ("0", "0"), ("100000", "900"), ("900",), ("nan", "900"), ("1e3", "900"))),
        Case("train", ("train", "--out", "nonempty", "--seeds", "1", "--steps", "1"), "nonempty"),
        Case("train", ("train", "--out", "a-file", "--seeds", "1"), "a-file"),
        Case("train", ("train", "--out", "finished-sweep", "--seeds", "1"), "finished"),
        Case("train", ("train", "--out", "foreign-sweep", "--seeds", "1", "--scales", "1", "--ctx-scales", "1"), "other settings"),
        Case("train", ("train", "--out", "broken-sweep", "--seeds", "1", "--scales", "1", "--ctx-scales", "1"), "sweep.json"),
        Case("train", ("train", "--out", "stray-results", "--seeds", "1", "--scales", "1", "--ctx-scales", "1"), "stray-results"),
        Case("train", ("train", "--out", "new/t", "--scales", "1,2", "--ctx-scales", "1"), "ctx-scales"),
        Case("train", ("train", "--out", "new/t", "--scales", "1", "--ctx-scales", "1", "--seeds", "1", "--shards", "2"),
             "--shards"),
        Case("train", ("train", "--out", "new/t", "--executor", "slurm", "--seeds", "1"), "slurm"),
        Case("train", ("train", "--out", "new/t", "--executor", "pbs"), "--executor"),
        Case("train", ("train", "--out", "new/t", "--dtype", "float16"), "--dtype"),
        Case("train", ("train", "--out", "new/t", "--inputs", "words"), "--inputs"),
        *(Case("train", ("train", "--out", "new/t", "--seeds", "1", "--device", device), "--device")
          for device in ("gpu", "tpu", "cuda:x", "", "cuda;rm", "mps:0")),
        Case("train", ("train", "--out", "new/t", "--seeds", "1000", "--hidden", "10000"), "GiB"),
        Case("train", ("train", "--out", "new/t", "--inputs", "images", "--image-size", "128", "--seeds", "1000"), "GiB"),
        Case("train", ("train", "--out", "new/t", "--curriculum", "no-such.tsv"), "no-such.tsv"),
        Case("train", ("train", "--out", "new/t", "--curriculum", "trials.tsv", "--choice-rule", "max"), "--choice-rule"),
        Case("train", ("train", "--curriculum", "unfinished", "--out", "new/t"), "incomplete"),
        Case("train", ("train", "--curriculum", "half-imported", "--out", "new/t"), "import"),
        Case("train", ("train", "--scales", f"{','.join(['1'] * 65)}", "--out", "new/t"), "--scales"),
        Case("train", ("train", "--out", "new/t", "--hidden-activation", "tanh"), "--hidden-activation"),
        Case("train", ("train", "--out", "new/t", "--curriculum", "trials.tsv", "--hidden-activation", "linear",
                       "--seeds", "1"), "ReLU"),
        Case("gating", ("gating", "no-such-folder", "--out", "new/g"), "no-such-folder"),
        Case("gating", ("gating", "trials.tsv", "--out", "new/g"), "trials.tsv"),
        Case("gating", ("gating", "nonempty", "--out", "new/g"), "summary.json"),
        Case("gating", ("gating", "finished-sweep", "--out", "new/g"), "sweep.json"),
        Case("gating", ("gating", "nonempty", "--out", "nonempty"), "nonempty"),
        Case("gating", ("gating", "nonempty", "--out", "a-file"), "a-file"),
        Case("gating", ("gating", "--out", "new/g"), "SWEEP"),
        Case("demo", ("demo", "--out", "nonempty"), "nonempty"),
        Case("demo", ("demo", "--out", "a-file"), "a-file"),
        Case("demo", ("demo", "--runs-in", "a-file"), "a-file"),
        Case("demo", ("demo",), "--out"),
        Case("demo", ("demo", "--out", "new/d", "--runs-in", "new/r"), "--runs-in"),
        Case("demo", ("demo", "--out", "new/d", "--scales", "1,2", "--ctx-scales", "1"), "ctx-scales"),
        Case("demo", ("demo", "--out", "new/d", "--protocol", "nope"), "nope"),
        Case("demo", ("demo", "--out", "new/d", "--scanner-participants", "2"), "--scanner-participants"),
        Case("report", ("report", "no-such-folder"), "no-such-folder"),
        Case("report", ("report", "trials.tsv"), "trials.tsv"),
        Case("report", ("report", "nonempty"), "nonempty"),
        Case("report", ("report", "results", "--out", "trials.tsv", "--overwrite"), "trials.tsv"),
        Case("report", ("report", "results", "--out", "fits.tsv"), "fits.tsv"),
        Case("report", ("report", "results", "--out", "results/data.html", "--overwrite"), "data.html"),
        Case("report", ("report", "results", "--out", "results/data.html"), "data.html"),
        Case("report", ("report", "results", "--out", "results", "--overwrite"), "results"),
        Case("report", ("report", "results", "--out", "a-file/report.html"), "a-file"),
        *integrity_cases(),
        *neural_cases(),
        Case("garden", ("frobnicate",), "frobnicate"),
        Case("garden", ("--nope",), "--nope"),
    ]
    return cases


CASES = number_cases() + table_cases() + protocol_cases() + agent_cases() + fits_cases() + stimuli_cases() + path_cases()


CASE_TIMEOUT_S = 20
PARSER = build_parser()
"""One parser for every case (each command's parser is built on its first case)."""


def _too_slow(signum, frame):
    raise TimeoutError(f"the command ran for {CASE_TIMEOUT_S} s: it did work instead of refusing")


def _id(case: Case) -> str:
    return " ".join(case.argv)[:120]


def test_case_count(capsys):
    counts = collections.Counter(case.command for case in CASES)
    with capsys.disabled():
        print(f"\nfuzz cases per command ({len(CASES)} in all):")
        for command, n in sorted(counts.items()):
            print(f"  {command:15s} {n}")
    assert len(CASES) >= 1000 and len(set(CASES)) == len(CASES)
    assert set(counts) >= {"validate", "import", "fit", "bms", "recover", "run", "arrange", "stimuli make",
                           "stimuli sheet", "stimuli check", "train", "demo", "report", "neural glm", "neural rdms",
                           "neural searchlight", "neural stats", "neural simulate", "neural mante", "neural networks"}


def _path_without(program: str) -> str:
    """PATH without the folders that hold ``program``."""
    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not os.path.exists(os.path.join(d, program)))


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_hostile_input_is_one_clean_line_and_changes_nothing(case, watch, capsys, monkeypatch):
    if "slurm" in case.argv:  # the same refusal on a login node with SLURM: never a real job from here
        monkeypatch.setenv("PATH", _path_without("sbatch"))
    signal.signal(signal.SIGALRM, _too_slow)
    signal.alarm(CASE_TIMEOUT_S)  # a case that starts real work (a window, a sweep) fails instead of hanging
    try:
        status = main(list(case.argv), PARSER)
    finally:
        signal.alarm(0)
        changed = watch.changes()  # also when the case fails, so the next case sees only its own changes
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == case.expected, f"exit {status}, stderr: {err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err, err
    if case.command == "validate":
        assert lines and lines[-1].startswith(("invalid:", "garden validate: invalid:")), err
    else:
        assert len(lines) == 1, err
    assert case.needle.lower() in err.lower(), f"{case.needle!r} not named in: {err}"
    assert changed == [], f"the failed command changed the workspace: {changed[:5]}"


def test_stimuli_check_names_a_tree_the_manifest_does_not_list(watch, capsys):
    watch.changes()
    assert main(["stimuli", "check", "sets/unlisted"]) == 1
    assert "1 file(s) differ from manifest.json: B1L1_2.png (not in the manifest)" in capsys.readouterr().out
    assert watch.changes() == []


# ------------------------------------------------------------------ HTTP bodies and signals

HOSTILE_BODIES = {
    "session-400-digits": ("/api/session", b'{"participant_id": "P1", "session": 1' + b"0" * 400 + b', "browser": {}}'),
    "trial-400-digits": ("/api/trial", b'{"participant_id": "P1", "session": 1' + b"0" * 400 + b"}"),
    "deep-array": ("/api/trial", b"[" * 3000 + b"]" * 3000),
    "deep-object": ("/api/session", b'{"a":' * 3000 + b"1" + b"}" * 3000),
    "trial-key-twice": ("/api/trial", b'{"trial": 1, "trial": 2}'),
    "not-utf8": ("/api/session", b'{"participant_id": "\xff"}'),
    "nan": ("/api/session", b'{"participant_id": "P1", "session": NaN, "browser": {}}'),
}
"""Bodies ``garden web serve`` must answer with a 4xx (never 500), recording nothing."""


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_hostile_http_bodies_are_4xx_and_record_nothing(name, tmp_path):
    from starlette.testclient import TestClient

    from garden.experiment.config import load_protocol
    from garden.experiment.web.server import make_app
    from garden.experiment.web.site import write_shell

    protocol = load_protocol("flesch2022")
    write_shell(tmp_path / "site", protocol, server=True)
    route, body = HOSTILE_BODIES[name]
    app = make_app(protocol, tmp_path / "participants", tmp_path / "site")
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post(route, content=body, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert "error" in answer.json()
    assert not list((tmp_path / "participants").rglob("*_beh.*"))  # no session table or sidecar


@pytest.mark.parametrize("delay_s", [0.0005, 0.005, 0.05])
def test_ctrl_c_during_start_up_is_one_line_and_status_130(delay_s, tmp_path):
    """Ctrl-C while the commands are loaded, the arguments checked or the command starts (what the console
    script does after importing ``garden.cli``, a few light modules)."""
    code = ("import os, signal\n"
            "from garden.cli import main\n"
            "signal.signal(signal.SIGALRM, lambda *a: os.kill(os.getpid(), signal.SIGINT))\n"
            f"signal.setitimer(signal.ITIMER_REAL, {delay_s})\n"
            "raise SystemExit(main(['fit', 'no-such.tsv', '--out', 'f.tsv']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (130, 2), done.stderr  # 2: the command refused no-such.tsv before the signal came
    assert len(done.stderr.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


INTERRUPT_HOOK = """
import importlib.abc, os, signal, sys

class Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["GARDEN_TEST_SIGINT_AT"]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)  # as a Ctrl-C would, just before that module is imported
        return None

sys.meta_path.insert(0, Interrupt())
"""


@pytest.mark.parametrize("launcher, module", [
    *(("python -m garden", module) for module in ("garden.cli", "garden.commands", "garden.core.errors", "argparse",
                                                  "garden.commands.fit", "numpy", "pandas", "garden.core.trials")),
    ("garden", "garden.cli"), ("garden", "numpy")])
def test_ctrl_c_while_the_command_is_imported_is_one_line_and_status_130(launcher, module, tmp_path):
    """Ctrl-C at each step of the start-up of the real command (``python -m garden`` or the console script): the
    package and garden.cli being imported (before ``main`` runs), then the command's modules and numpy (whose
    C code turns the KeyboardInterrupt into an ImportError). Sent just before ``module`` is imported, by an
    import hook (a ``sitecustomize`` on PYTHONPATH): what runs before garden's own first line (Python's site,
    runpy) is Python's, and not tested here."""
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(INTERRUPT_HOOK)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hook"), "GARDEN_TEST_SIGINT_AT": module}
    command = ([sys.executable, "-m", "garden"] if launcher != "garden"
               else [str(Path(sys.executable).with_name("garden"))])
    done = subprocess.run([*command, "fit", "no-such.tsv", "--out", "f.tsv"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and done.stderr == "garden: interrupted\n", (done.returncode, done.stderr[-3000:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hook"]


def test_sigterm_in_a_window_session_or_a_server_stops_it_like_ctrl_c_and_restores_the_handler():
    from garden.core.interrupts import Terminated, sigterm_stops

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated, match="SIGTERM"):
        with sigterm_stops():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 1)  # the handler runs at the next bytecode; this is never reached
    assert issubclass(Terminated, KeyboardInterrupt) and signal.getsignal(signal.SIGTERM) == before


def test_a_results_archive_that_inflates_past_the_budget_is_refused_before_reading(tmp_path, monkeypatch, capsys):
    archive = tmp_path / "spaces.jrzip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("study_result_1/comp-result_1/data.txt", " " * 2**22)  # 4 MiB of spaces, 4 KiB zipped
    monkeypatch.setenv("GARDEN_MAX_MEMORY_GIB", str(8 / 1024))  # an 8 MiB budget: 3 copies of 4 MiB exceed it
    assert main(["import", str(archive), "--web", "--protocol", "flesch2022", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "needs about 12 MiB, over the 8 MiB budget" in err and "GARDEN_MAX_MEMORY_GIB" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spaces.jrzip"]

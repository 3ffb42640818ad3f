"""What makes a data folder a valid BIDS dataset, beyond the trial tables themselves.

Why: the lab shares its data as BIDS, and the official validator (``bids-validator``) refuses a
folder without ``dataset_description.json``, with empty cells (missing is ``n/a``) or with
``participants.tsv`` ids lacking the ``sub-`` prefix. Every column of a table is described in the
JSON sidecar beside it, one top-level key per column (``Description``, ``Units``, ``Levels``);
garden's own record of how a file was made (versions, config, seed, assignment, timing) goes
under the one key ``PROVENANCE_KEY``; its layout is owned by ``garden.core.provenance`` (write_record,
read_record), which also reads the older layout. ``participants.tsv`` ids without ``sub-`` are still read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from garden.core.files import write_file, write_tsv
from garden.core.provenance import PROVENANCE_KEY, software_versions, write_json

BIDS_VERSION = "1.8.0"
PARTICIPANTS_FILE = "participants.tsv"
SUB = "sub-"
BIDS_IGNORE = ("*_psychopy.log",)
"""Files garden writes beside the data that BIDS does not define (PsychoPy's log of a session)."""

PARTICIPANT_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "participant_id": {"Description": "Participant label, sub-<label> as in the folder names."},
    "group": {"Description": "Participant group (the training curriculum in garden sessions)."},
    "curriculum": {"Description": "Training curriculum of the participant (a curriculum of the protocol)."},
    "rule_code": {"Description": "Counterbalancing code of the reward rules: 1..4 cardinal, 5..8 diagonal."},
    "accept_side": {"Description": "Screen side of the accept label when sides are fixed per participant.",
                    "Levels": {"left": "accept on the left", "right": "accept on the right"}},
    "protocol": {"Description": "Name of the garden protocol the participant was run with."},
}

README_TEXT = """\
garden: context-dependent tree-planting task (Flesch et al. 2018/2022)
=====================================================================

Behaviour of each session: sub-<label>/ses-<n>/beh/*_beh.tsv, one row per trial, described column by
column in the JSON sidecar beside it (garden's provenance record under the key "{key}").
Scanner runs: sub-<label>/ses-<n>/func/*_run-<r>_events.tsv with their JSON sidecars (onsets in seconds
from the run's first scanner trigger).

This README was written by garden; replace this text with a description of the study.
"""


def bids_id(participant_id: str) -> str:
    """``P001`` -> ``sub-P001`` (an id that already has the prefix is kept)."""
    text = str(participant_id)
    return text if text.startswith(SUB) else SUB + text


def plain_id(participant_id: str) -> str:
    """``sub-P001`` -> ``P001`` (an id without the prefix is kept)."""
    return str(participant_id).removeprefix(SUB)


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it exists (atomically, never replacing a lab's own)."""
    try:
        write_file(path, text)
    except FileExistsError:
        pass


def ensure_dataset_files(root: str | os.PathLike, *, name: str = "garden") -> None:
    """Write ``dataset_description.json``, a ``README`` stub and ``.bidsignore`` (``BIDS_IGNORE``)
    at ``root`` if they are missing (never replacing a lab's own)."""
    root = Path(root)
    description = {"Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
                   "GeneratedBy": [{"Name": "garden", "Version": software_versions().get("garden-task", "unknown")}]}
    _write_new(root / "dataset_description.json", json.dumps(description, indent=2) + "\n")
    _write_new(root / "README", README_TEXT.format(key=PROVENANCE_KEY))
    _write_new(root / ".bidsignore", "".join(f"{pattern}\n" for pattern in BIDS_IGNORE))


def column_sidecar(columns: list[str], known: dict[str, dict[str, Any]], *, fallback: str) -> dict[str, Any]:
    """One top-level entry per column: its entry in ``known``, else ``{"Description": fallback}``
    (``{column}`` in ``fallback`` is replaced by the column name)."""
    return {c: known.get(c, {"Description": fallback.format(column=c)}) for c in columns}


def read_participants(path: Path) -> pd.DataFrame:
    """``participants.tsv`` as text, ids without the ``sub-`` prefix, missing cells empty
    (files with or without the prefix, with ``n/a`` or empty cells)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    table["participant_id"] = table.participant_id.map(plain_id)
    return table.replace("n/a", "")


def write_participants(root: Path, table: pd.DataFrame) -> Path:
    """Replace ``root/participants.tsv`` atomically (``sub-`` ids, ``n/a`` for missing) and write
    ``participants.json`` describing every column."""
    out = table.astype(object).where(table.notna(), "").astype(str).replace("", "n/a")
    out["participant_id"] = out.participant_id.map(bids_id)
    path = write_tsv(root / PARTICIPANTS_FILE, out, overwrite=True)
    sidecar = column_sidecar(list(out.columns), PARTICIPANT_DESCRIPTIONS,
                             fallback="Imported column {column} (one value per participant).")
    write_json(root / "participants.json", sidecar, overwrite=True)
    return path

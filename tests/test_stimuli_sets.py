"""Stimulus sets: make (manifest with hashes, reproducible, never overwrites), load and validate, sheets."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from garden.core.errors import UserError
from garden.stimuli.sets import contact_sheet, load_set, make_set, sheet_label_px
from garden.stimuli.trees import GENERATOR_VERSION, render_tree

TINY_PX = 40


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    """25 cells x 2 exemplars at 40 px, seed 11."""
    return make_set(tmp_path_factory.mktemp("sets") / "tiny", exemplars=2, size_px=TINY_PX, seed=11, progress=False)


def test_manifest_round_trip(tiny_set):
    manifest = json.loads((tiny_set / "manifest.json").read_text())
    assert manifest["generator_version"] == GENERATOR_VERSION and manifest["seed"] == 11
    assert manifest["config"]["exemplars"] == 2 and manifest["parameters"]["size_px"] == TINY_PX
    assert len(manifest["files"]) == 50
    for name, hashes in manifest["files"].items():
        assert hashlib.sha256((tiny_set / name).read_bytes()).hexdigest() == hashes["sha256"]
    loaded = load_set(tiny_set, min_exemplars=2)
    assert loaded.manifest == manifest and loaded.verify() == []
    assert loaded.n_exemplars == 2 and loaded.exemplars(5, 1) == ["1", "2"]
    png = Image.open(loaded.file(5, 1, 2))
    assert png.mode == "RGBA" and png.tobytes() == render_tree(5, 1, 2, TINY_PX, seed=11).tobytes()


def test_rerun_reproduces_hashes_with_any_number_of_jobs(tiny_set, tmp_path):
    again = make_set(tmp_path / "again", exemplars=2, size_px=TINY_PX, seed=11, jobs=2, progress=False)
    files = lambda folder: json.loads((folder / "manifest.json").read_text())["files"]  # noqa: E731
    assert files(again) == files(tiny_set)


def test_refuses_to_overwrite_a_non_empty_folder(tiny_set):
    before = (tiny_set / "manifest.json").read_bytes()
    with pytest.raises(UserError, match="not empty"):
        make_set(tiny_set, exemplars=1, size_px=TINY_PX, progress=False)
    assert (tiny_set / "manifest.json").read_bytes() == before


def test_verify_finds_a_changed_file(tiny_set, tmp_path):
    copy = Path(shutil.copytree(tiny_set, tmp_path / "copy"))
    render_tree(1, 1, 7, TINY_PX).save(copy / "B2L3_1.png")
    assert load_set(copy).verify() == ["B2L3_1.png"]


def test_missing_cells_are_named(tiny_set, tmp_path):
    copy = Path(shutil.copytree(tiny_set, tmp_path / "copy"))
    for name in ("B2L3_1.png", "B2L3_2.png", "B5L1_1.png", "B5L1_2.png"):
        (copy / name).unlink()
    with pytest.raises(UserError, match=r"2 of 25 cells have no tree: B2L3, B5L1"):
        load_set(copy)


def test_cells_short_of_exemplars_are_named_with_the_number_needed(tiny_set, tmp_path):
    copy = Path(shutil.copytree(tiny_set, tmp_path / "copy"))
    (copy / "B4L4_2.png").unlink()
    assert load_set(copy, min_exemplars=1).n_exemplars == 1
    with pytest.raises(UserError, match=r"needs 2 exemplars per cell but B4L4 has 1;.*--exemplars 2"):
        load_set(copy, min_exemplars=2)


def test_not_a_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a folder"):
        load_set(tmp_path / "nowhere")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text("abcXYZ0123456789", min_size=1, max_size=4), min_size=1, max_size=4, unique=True))
def test_published_naming_with_letters_or_numbers(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("published")
    png = io.BytesIO()
    Image.new("RGB", (2, 2)).save(png, format="PNG")  # load_set checks that every image decodes
    for b in range(1, 6):
        for l in range(1, 6):
            for name in names:
                (folder / f"B{b}L{l}_{name}.png").write_bytes(png.getvalue())
    (folder / "notes.txt").write_text("ignored")
    loaded = load_set(folder, min_exemplars=len(names))
    assert sorted(loaded.exemplars(3, 2)) == sorted(names) and loaded.manifest is None
    assert loaded.file(3, 2, names[0]) == folder / f"B3L2_{names[0]}.png"
    numeric = [n for n in loaded.exemplars(1, 1) if n.isdigit()]
    assert numeric == sorted(numeric, key=int)


def test_contact_sheet_of_the_published_trees(reference_trees):
    sheet = contact_sheet(load_set(reference_trees), cell_px=50)
    assert sheet.size == (24 + 250, 24 + 250) and sheet.mode == "RGB"


@pytest.mark.parametrize("cell_px", [40, 443])
def test_contact_sheet_labels_read_at_9_pt_as_shown(tmp_path, cell_px):
    """The B/L labels' ink is >= 9 pt (12 px at 96 dpi) high at full size, and still when a 1 240 px wide page
    (the report) shrinks a big sheet to its width."""
    for b in range(1, 6):
        for leaf in range(1, 6):
            Image.new("RGB", (8, 8), (255, 255, 255)).save(tmp_path / f"B{b}L{leaf}_1.png")
    sheet = np.asarray(contact_sheet(load_set(tmp_path), cell_px=cell_px).convert("L")) < 128
    margin = sheet.shape[0] - 5 * cell_px
    rows = np.flatnonzero(sheet[:margin, margin:].any(axis=1))  # the L1..L5 labels above the columns
    shown = min(1.0, 1240 / sheet.shape[1])
    assert (rows.max() - rows.min() + 1) * shown >= 12 * 0.7  # ink of capitals and digits: ~0.7 of the font size
    assert sheet_label_px(cell_px) * shown >= 12

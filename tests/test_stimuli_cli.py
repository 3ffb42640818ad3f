"""``garden stimuli make|check|sheet`` end to end on a tiny set."""

from __future__ import annotations

import json

from PIL import Image

from garden.cli import main


def test_make_check_sheet_end_to_end(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["stimuli", "make", "--out", str(out), "--exemplars", "1", "--size", "32", "--seed", "2"]) == 0
    assert len(list(out.glob("B*L*_1.png"))) == 25
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2

    assert main(["stimuli", "check", str(out), "--min-exemplars", "1"]) == 0
    assert "all 25 files match manifest.json" in capsys.readouterr().out

    sheet = tmp_path / "sheet.png"
    assert main(["stimuli", "sheet", str(out), "--out", str(sheet), "--cell-px", "40"]) == 0
    assert Image.open(sheet).size == (224, 224)
    assert json.loads((tmp_path / "sheet.json").read_text())["config"]["cell_px"] == 40


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "set"
    out.mkdir()
    (out / "B1L1_1.png").write_bytes(b"")
    assert main(["stimuli", "make", "--out", str(out), "--exemplars", "1", "--size", "32"]) == 2
    assert main(["stimuli", "check", str(out), "--min-exemplars", "3"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert "not empty" in errors[0]
    assert "24 of 25 cells have no tree: B1L2, B1L3" in errors[1]
    assert main(["stimuli", "sheet", str(out), "--out", str(tmp_path / "s.png")]) == 2

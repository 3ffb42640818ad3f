"""The arrangement task's settings, texts and command line, without opening a window."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from garden.core.errors import UserError
from garden.experiment.arrangement import task as arrangement
from garden.experiment.arrangement import data as ad
from garden.experiment.present.toolkit import x_server_answers
from garden.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_default_strings_fill_in_every_placeholder():
    strings = arrangement.load_strings()
    intro = strings["instructions"].format(total=6, index=1, done=strings["done"])
    assert '"Done"' in intro and "6 times" in intro
    assert strings["start"].format(total=6, index=2, done="x").startswith("Arrangement 2 of 6")


def test_strings_file_missing_a_key_is_named(tmp_path):
    path = tmp_path / "arrangement_xx.toml"
    path.write_text('instructions = "hi"\nstart = "go"\nprogress = "{index}"\nend = "bye"\n')
    with pytest.raises(UserError, match=r"missing text\(s\) \['done', 'move_all', 'confirm_quit'\]"):
        arrangement.load_strings(path)
    path.write_text("instructions = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        arrangement.load_strings(path)


@pytest.mark.parametrize("change, message", [
    ({"n_arrangements": 0}, "--arrangements"),
    ({"ring_radius_arena": 0.95}, "start ring"),
    ({"window_size_px": (100, 100)}, "window size"),
    ({"seed": -3}, "--seed"),
    ({"phase": "pre-1"}, "phase"),
    ({"participant_id": "a b"}, "participant id"),
])
def test_impossible_settings_are_refused_before_a_window_opens(tmp_path, change, message):
    settings = {"participant_id": "P1", "session": 1, "phase": "pre", "out": tmp_path, **change}
    with pytest.raises(UserError, match=message):
        arrangement.validate(arrangement.ArrangementConfig(**settings))


def test_tree_images_are_rendered_with_recorded_exemplars(tmp_path):
    config = arrangement.ArrangementConfig("P1", 1, "pre", out=tmp_path)
    exemplars, images = arrangement.tree_images(config, seed=4, size_px=40)
    assert len(images) == 25 and images[0].size == (40, 40) and images[0].mode == "RGBA"
    assert exemplars == ad.choose_exemplars({(int(b), int(l)): arrangement.RENDER_EXEMPLARS for b, l in ad.CELLS}, 4)


def test_command_refuses_to_overwrite_an_earlier_session(tmp_path, capsys):
    ad.arrangement_files(tmp_path, "P1", 1, "pre").trees.parent.mkdir(parents=True)
    ad.arrangement_files(tmp_path, "P1", 1, "pre").trees.write_text("earlier data\n")
    status = main(["arrange", "--participant", "P1", "--session", "1", "--phase", "pre", "--out", str(tmp_path)])
    assert status == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert ad.arrangement_files(tmp_path, "P1", 1, "pre").trees.read_text() == "earlier data\n"


def test_command_without_a_display_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    status = main(["arrange", "--participant", "P1", "--session", "1", "--phase", "post", "--out", str(tmp_path)])
    assert status == 2
    assert "no X display" in capsys.readouterr().err
    assert not (tmp_path / "sub-P1").exists()  # nothing half-written


def free_x_display_number() -> int:
    """A display number whose TCP port (6000 + n) on this host is free (n from 50: past real displays)."""
    for number in range(50, 64):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 6000 + number)) != 0:
                return number
    pytest.skip("no free X port from 6050 to 6063")


def test_a_display_whose_x_server_is_gone_is_one_line(tmp_path, capsys, monkeypatch):
    number = free_x_display_number()
    assert not x_server_answers(f"127.0.0.1:{number}.0")
    with socket.create_server(("127.0.0.1", 6000 + number)):  # something listening where the display says
        assert x_server_answers(f"127.0.0.1:{number}.0")
    assert not x_server_answers(f"127.0.0.1:{number}.0")
    for display in (f"127.0.0.1:{number}.0", ":9999"):  # an ended ssh -X session; a stopped Xvfb
        monkeypatch.setenv("DISPLAY", display)
        status = main(["arrange", "--participant", "P1", "--session", "1", "--phase", "post", "--out", str(tmp_path)])
        assert status == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"garden arrange: error: no X server answers at DISPLAY={display} (has its session ended?): run on the "
            "lab computer's screen or under xvfb-run"]
        assert not (tmp_path / "sub-P1").exists()


def test_help_and_import_do_not_load_psychopy():
    code = ("import sys, garden.cli, garden.experiment.arrangement.task, garden.experiment.arrangement.data;"
            "garden.cli.build_parser(load_all=True);"
            "assert not [m for m in sys.modules if m.startswith('psychopy')], 'psychopy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_tree_images_from_a_stimulus_set_are_chosen_by_seed(tmp_path):
    from garden.stimuli.sets import make_set

    folder = make_set(tmp_path / "set", exemplars=3, size_px=24, seed=1)
    config = arrangement.ArrangementConfig("P1", 1, "pre", out=tmp_path, stimuli=folder)
    exemplars, images = arrangement.tree_images(config, seed=9, size_px=99)
    assert [Path(i).name for i in images] == [f"{label}_{e}.png" for label, e in zip(ad.LABELS, exemplars)]
    assert exemplars == arrangement.tree_images(config, seed=9, size_px=99)[0]
    assert len(set(exemplars)) > 1


def test_published_trees_can_be_arranged(reference_trees, tmp_path):
    config = arrangement.ArrangementConfig("P1", 1, "pre", out=tmp_path, stimuli=reference_trees)
    exemplars, images = arrangement.tree_images(config, seed=0, size_px=99)
    assert exemplars == ["1"] * 25 and Path(images[7]).name == "B2L3_1.png"
    width, height = arrangement._fit_size(arrangement._as_rgba(images[7]), 50)
    assert max(width, height) == pytest.approx(50)

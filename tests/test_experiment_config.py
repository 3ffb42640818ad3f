"""Protocol files: the shipped protocols hold the published counts; malformed ones fail in one line."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garden.core.errors import UserError
from garden.experiment.config import PROTOCOLS, load_protocol, parse_protocol
from garden.experiment.screen_texts import load_strings


def test_flesch2022_holds_the_published_phases():
    p = load_protocol("flesch2022")
    assert [(ph.name, ph.session, ph.trials, ph.exemplars_per_cell, ph.feedback) for ph in p.phases] == [
        ("training", 1, 50, 1, True), ("baseline", 1, 200, 4, False), ("main", 1, 900, 18, True),
        ("refresher", 2, 50, 1, True), ("scan", 2, 600, 12, False)]
    scan = p.phases[-1]
    assert (scan.runs, scan.scanner, scan.timing.iti_s, scan.timing.iti_max_s, scan.timing.lead_in_s) == \
        (6, True, 2.0, 6.0, 10.0)
    assert p.phases[3].timing.response_window_s == 3.0 and p.phases[0].timing.response_window_s == 1.5
    assert p.curricula["blocked"].block_length == 450
    assert p.display.context_colours == {"north": (0, 178, 255), "south": (255, 178, 0)}


def test_flesch2018_holds_the_four_curricula():
    p = load_protocol("flesch2018")
    assert {n: c.block_length for n, c in p.curricula.items()} == {"B200": 200, "B20": 20, "B2": 2, "interleaved": 0}
    assert [(ph.name, ph.trials) for ph in p.phases] == [("training", 400), ("test", 200)]
    assert p.keys.sides == "fixed" and (p.keys.left, p.keys.right) == ("left", "right")


def _raw(name: str = "flesch2022") -> dict:
    return tomllib.loads(PROTOCOLS[name].read_text())


@pytest.mark.parametrize("edit, words", [
    (lambda r: r["phases"][1].update(trials=199), ["phases[1].trials", "multiple of 50"]),
    (lambda r: r["phases"][0].update(trails=50), ["phases[0]", "unknown key", "trails"]),
    (lambda r: r["timing"].update(cue_s="long"), ["phases[0].timing.cue_s", "expected a number"]),
    (lambda r: r["display"].update(frame_size_px=-3), ["display.frame_size_px", ">= 0.01"]),
    (lambda r: r["keys"].update(sides="sometimes"), ["keys.sides", "random"]),
    (lambda r: r.update(curriculum="B7"), ["curriculum", "B7", "blocked"]),
    (lambda r: r["phases"][2].update(exemplars_per_cell=5), ["phases[2].exemplars_per_cell", "divisor of 18"]),
    (lambda r: r["phases"][0].pop("name"), ["phases[0].name", "missing"]),
    (lambda r: r["display"]["context_colours"].pop("south"), ["context_colours", "south"]),
])
def test_malformed_protocol_gives_one_line_naming_the_key(edit, words):
    raw = _raw()
    edit(raw)
    with pytest.raises(UserError) as info:
        parse_protocol(raw, "lab.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("lab.toml:")
    for word in words:
        assert word in message


def test_toml_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[phases]\n')
    with pytest.raises(UserError, match="bad.toml: not valid TOML"):
        load_protocol(bad)
    with pytest.raises(UserError, match="not found: use one of"):
        load_protocol("flesch2099")


KEYS = ["trials", "exemplars_per_cell", "session", "order", "feedback", "runs", "block_trials", "scanner"]


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(KEYS),
       value=st.one_of(st.text(max_size=5), st.floats(allow_nan=False), st.integers(-5, 0), st.lists(st.integers())))
def test_any_bad_phase_value_is_refused_or_valid(key, value):
    """Whatever is put in a phase key, parsing either succeeds with a valid value or fails in one line."""
    raw = _raw()
    raw["phases"][0][key] = value
    try:
        protocol = parse_protocol(raw, "lab.toml")
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("lab.toml:")
        return
    assert getattr(protocol.phases[0], key) == value


def test_strings_have_every_text_and_placeholders():
    strings = load_strings("en")
    assert "{score}" in strings["break"] and "{n_blocks}" in strings["break"]
    with pytest.raises(UserError, match="language 'xx' not found"):
        load_strings("xx")

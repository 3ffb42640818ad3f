"""The HTML report: every section, embedded PNGs that decode at the figure's size, notes, tables."""

from __future__ import annotations

import base64
import html
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks.bench_figures import savefig_png
from garden.core.task import item_table
from garden.reports import html as report
DPI = 40  # small images keep the test fast; sizes scale with it


def _write(folder, name: str, table: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{name}.tsv", sep="\t", index=False)
    (folder / f"{name}.json").write_text(json.dumps({"seed": 7, "created_utc": "2026-01-01T00:00:00"}))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    tables = root / report.TABLES_DIR
    items = item_table()
    accepted = (items.reward_value > 0) * 1.0
    cells = pd.concat([items.assign(participant_id=f"P{i}", group=g, rule_code=1, p_accept=accepted)
                       for i, g in enumerate(["blocked", "interleaved"] * 2)])
    _write(tables, "choice_cells", cells)
    _write(tables, "psychometric_curves", pd.DataFrame(
        [{"participant_id": "P0", "feature": f, "context": c, "level": v, "p_accept": 0.5, "p_model": 0.4}
         for f in ("relevant", "irrelevant") for c in ("north", "south") for v in range(-2, 3)]))
    _write(tables, "bms", pd.DataFrame({"model": ["factorized", "linear"], "expected_frequency": [0.75, 0.25],
                                        "protected_exceedance_probability": [0.9, 0.1]}))
    _write(tables, "choice_rdm_betas", pd.DataFrame({"participant_id": ["P0", "P1"], "beta_factorized": [0.8, 0.7],
                                                     "beta_linear": [0.1, 0.2]}))
    _write(tables, "network_summary", pd.DataFrame(
        [{"scale": s, "seed": k, "beta_grid": s, "beta_orthogonal": 1 - s, "dim_90": 3, "n_task_selective": 50,
          "n_mixed": 30, "n_dead": 20} for s in (0.01, 3.0) for k in range(2)]))
    _write(tables, "similarity_profile", pd.DataFrame(
        {"group": "all", "scale": [0.01, 3.0], "similarity": [0.6, 0.2], "ci_low": [0.5, 0.1], "ci_high": [0.7, 0.3]}))
    (tables / report.SKIPPED_FILE).write_text(json.dumps({"recovery": "garden.modeling.recovery is not available yet"}))
    (root / report.RUN_FILE).write_text(json.dumps({"seed": 7, "config": {"participants": 4}}))
    (root / "stimuli").mkdir()
    Image.new("RGB", (123, 77), (0, 128, 0)).save(root / "stimuli" / "contact_sheet.png")
    out = report.write_report(root, dpi=DPI)
    return root, out.read_text(encoding="utf-8")


def _images(text: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)]


def test_report_has_the_sections_that_apply_and_provenance(results):
    """A section with no figure, table or skipped step is left out (it does not apply), not flagged."""
    _, text = results
    for spec in report.SECTIONS:
        applies = f"<section id='{spec.key}'>" in text
        assert applies == (f"<h2>{spec.title.replace('&', '&amp;')}</h2>" in text)
        assert applies or spec.title not in text
    shown = [spec.key for spec in report.SECTIONS if f"<section id='{spec.key}'>" in text]
    assert {"behaviour", "recovery", "networks"} <= set(shown) and "ppc" not in shown
    assert "<section id='provenance'>" in text
    assert '"participants": 4' in html.unescape(text)  # run configuration shown
    assert "2026-01-01T00:00:00" in text  # table sidecars listed


def test_embedded_figures_decode_as_images_of_the_figure_size(results):
    _, text = results
    images = _images(text)
    # stimuli 1, behaviour 2, per participant 2, choice models 1 (BMS), choice RDMs 2 (the RDMs, the betas),
    # networks 3 (betas, dimensionality, units), similarity 1
    assert len(images) == 12
    sizes = [im.size for im in images]
    assert sizes[0] == (123, 77)  # the contact sheet, embedded as it is
    one_panel = (round((report.figures.style.PANEL_W + 1.0) * DPI), round((report.figures.style.PANEL_H + 0.5) * DPI))
    assert sizes.count(one_panel) >= 3  # betas, dimensionality (no spectrum), unit classes
    for im in images[1:]:
        pixels = np.asarray(im.convert("L"), dtype=float)
        assert im.format == "PNG" and pixels.std() > 10  # something is drawn, not a blank canvas


def test_missing_inputs_give_notes_not_fake_figures(results):
    _, text = results
    assert "Skipped: garden.modeling.recovery is not available yet" in text
    overview = re.search(r"Incomplete sections \(see their notes\): (.*?)\.</p>", text).group(1)
    assert "Parameter and model recovery" in overview and "Choice-pattern RSA" not in overview
    assert "for diagonal rules): not drawn (no boundaries table)." in text
    assert "Learning curves: not drawn (no network_curves table)." in text


def test_tables_are_printed(results):
    _, text = results
    assert "<h3>bms</h3>" in text and "0.75" in text


def test_rebuilding_refuses_to_overwrite_unless_asked(tmp_path):
    _write(tmp_path / report.TABLES_DIR, "bms", pd.DataFrame(
        {"model": ["factorized", "linear"], "expected_frequency": [0.6, 0.4],
         "protected_exceedance_probability": [0.7, 0.3]}))
    (tmp_path / report.RUN_FILE).write_text(json.dumps({"seed": 7, "tables": ["bms"]}))  # a finished run
    first = report.write_report(tmp_path, dpi=DPI).read_text(encoding="utf-8")
    with pytest.raises(FileExistsError, match="--overwrite"):
        report.write_report(tmp_path, dpi=DPI)
    again = report.write_report(tmp_path, overwrite=True, dpi=DPI).read_text(encoding="utf-8")
    assert len(_images(first)) == len(_images(again)) == 1


def test_readable_raises_small_text_and_moves_a_legend_off_the_data():
    """A 4-panel figure (17 in, shown at 1 240 px) with 'small' legend text on its lines: after ``readable``
    the smallest text reads >= 9 pt in the page and the legend no longer covers a line's points."""
    from garden.reports.figures.style import panel_grid

    fig, axes = panel_grid(4, "four panels")
    x = np.linspace(0, 1, 50)
    axes[0].plot(x, x, label="rising")
    axes[0].plot(x, 1 - x, label="falling")
    axes[0].legend(loc="upper left", fontsize="small")
    assert report.smallest_font_pt(fig) < 9
    fig.draw_without_rendering()
    assert report.legend_over_data(axes[0])
    report.readable(fig)
    assert report.smallest_font_pt(fig) == pytest.approx(9.0)
    assert not report.legend_over_data(axes[0])
    assert report.shown_scale(fig) == pytest.approx(report.CONTENT_PX / (fig.get_figwidth() * 96))


def test_tick_labels_no_draw_has_made_yet_are_raised_too():
    """'small' tick labels on a panel whose ticks are set, minor ones on, and never drawn (no label has its text
    yet; ``figure_png`` draws once, after ``enlarge_text``): the draw's labels read >= 9 pt in the page."""
    from garden.reports.figures.style import panel_grid

    fig, axes = panel_grid(4, "four panels")
    axes[1].tick_params(labelsize="small")
    axes[1].set_xticks([0, 0.25, 0.5, 0.75, 1])
    axes[1].minorticks_on()
    axes[1].xaxis.get_major_ticks(3)  # ticks made before the draw, their labels empty
    report.enlarge_text(fig)
    assert report.smallest_font_pt(fig) == pytest.approx(9.0)  # it draws: 6.3 pt without raising tick labels


@pytest.mark.parametrize("cover", [True, False])
def test_figure_png_is_the_png_savefig_writes(cover):
    """One Agg draw gives savefig's PNG byte for byte (pixels, dpi, metadata), with and without a legend moved off
    the data, and leaves the figure at its own dpi, as savefig does."""
    from garden.reports.figures.style import panel_grid

    def figure():
        fig, axes = panel_grid(4, "four panels")
        x = np.linspace(0, 1, 50)
        axes[0].plot(x, x if cover else 0.2 * x, label="rising")
        axes[0].legend(loc="upper left", fontsize="small")
        axes[1].imshow(np.arange(25.0).reshape(5, 5))
        return fig

    fig, twin = figure(), figure()
    png = report.figure_png(fig, 60)
    assert png == savefig_png(twin, 60)  # figure_png as it was (benchmarks/bench_figures.py)
    assert fig.dpi == twin.dpi and fig.get_size_inches().tolist() == twin.get_size_inches().tolist()
    assert Image.open(io.BytesIO(png)).info["dpi"] == pytest.approx((60, 60), abs=0.01)  # PNG keeps px per metre
    assert report.legend_over_data(fig.axes[0]) is False


def test_tables_list_groups_in_the_figures_order():
    """A table with a group column is shown in group_order (b2, b20, b200, int), keeping the order within a
    group; the rt-by-phase table of a real dataset once came out int, b200, b20, b2."""
    from garden.reports.html import _table_html, in_group_order

    table = pd.DataFrame({"group": ["int", "int", "b200", "b20", "b2"], "phase": ["train", "test", "train", "x", "y"]})
    ordered = in_group_order(table)
    assert ordered["group"].tolist() == ["b2", "b20", "b200", "int", "int"]
    assert ordered["phase"].tolist()[-2:] == ["train", "test"]
    page = _table_html("rt_by_phase", table)
    assert [page.index(f"<td>{g}</td>") for g in ("b2", "b20", "b200", "int")] == sorted(
        page.index(f"<td>{g}</td>") for g in ("b2", "b20", "b200", "int"))
    assert in_group_order(pd.DataFrame({"x": [2, 1]}))["x"].tolist() == [2, 1]

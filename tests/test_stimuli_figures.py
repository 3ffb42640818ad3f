"""Documentation figures: labelled axes, and the side-by-side sheet works on a real set."""

from __future__ import annotations

import numpy as np

from garden.stimuli.figures import cues_figure, grading_figure, sheets_side_by_side
from garden.stimuli.sets import load_set, make_set


def test_grading_figure_has_labelled_axes_and_both_sets():
    means = {"leaf_share": np.tile(np.linspace(0, 0.8, 5), (5, 1)),
             "crown_area": np.tile(np.linspace(0.05, 0.45, 5), (5, 1)).T}
    fig = grading_figure(means, means)
    left, right = fig.axes
    assert left.get_xlabel() == "leafiness level" and right.get_xlabel() == "branchiness level"
    assert len(left.lines) == 11  # 5 ours + 5 published + the legend's published entry
    np.testing.assert_allclose(left.lines[0].get_ydata(), means["leaf_share"][0])


def test_sheets_and_cues_figures(tmp_path):
    tiny = load_set(make_set(tmp_path / "set", exemplars=1, size_px=24, progress=False))
    fig = sheets_side_by_side(tiny, tiny, cell_px=20)
    assert [ax.get_xlabel() for ax in fig.axes] == ["leafiness 1 → 5"] * 2
    assert [ax.get_title() for ax in cues_figure(size_px=60).axes] == [
        "north: frame", "south: frame", "north: garden scene", "south: garden scene"]

"""Context frames and garden scenes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from garden.core.errors import UserError
from garden.stimuli.gardens import CONTEXT_COLOURS, frame_image, garden_scene, place_tree
from garden.stimuli.trees import render_tree


@pytest.mark.parametrize("context", ["north", "south"])
def test_scanner_frame_colour_size_and_line_width(context):
    frame = np.asarray(frame_image(context))
    assert frame.shape == (600, 600, 4)
    assert tuple(frame[0, 0]) == (*CONTEXT_COLOURS[context], 255)
    assert tuple(frame[300, 39]) == (*CONTEXT_COLOURS[context], 255)  # 40 px line: columns 0..39
    assert frame[300, 40, 3] == 0 and frame[300, 300, 3] == 0  # transparent inside


def test_frame_is_configurable():
    frame = np.asarray(frame_image("north", size_px=100, line_px=5, colour=(10, 20, 30), background=(128, 128, 128)))
    assert frame.shape == (100, 100, 4)
    assert tuple(frame[50, 4]) == (10, 20, 30, 255) and tuple(frame[50, 5]) == (128, 128, 128, 255)


@pytest.mark.parametrize("kwargs", [{"context": "east"}, {"context": "north", "line_px": 300}])
def test_bad_frame_arguments_are_user_errors(kwargs):
    with pytest.raises(UserError):
        frame_image(**kwargs)


def test_garden_scenes_are_opaque_deterministic_and_coloured_by_context():
    north, south = garden_scene("north", 120), garden_scene("south", 120)
    assert np.asarray(north)[..., 3].min() == 255
    assert north.tobytes() == garden_scene("north", 120).tobytes()
    sky_north, sky_south = np.asarray(north)[40, 10, :3].astype(int), np.asarray(south)[40, 10, :3].astype(int)
    assert sky_north[2] > sky_north[0] and sky_south[0] > sky_south[2]  # blue winter, orange summer
    framed = np.asarray(garden_scene("south", 120, line_px=6))
    assert tuple(framed[60, 2, :3]) == CONTEXT_COLOURS["south"]


def test_place_tree_centres_the_tree_on_the_scene():
    scene = garden_scene("north", 200)
    out = place_tree(render_tree(3, 5, 1, 100), scene, scale=0.5)
    assert out.size == (200, 200)
    changed = np.any(np.asarray(out) != np.asarray(scene), axis=-1)
    rows, cols = np.nonzero(changed)
    assert 50 <= cols.min() and cols.max() < 150 and 50 <= rows.min() and rows.max() < 150
    assert isinstance(out, Image.Image)

"""The arrangement task without a display: RDM maths, start layouts, dragging logic, files."""

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from garden.core.errors import UserError
from garden.core.task import cell_index
from garden.experiment.arrangement import data as ad
coordinate = st.floats(-1, 1, allow_nan=False, allow_infinity=False)


def spread_out(pos: np.ndarray) -> bool:
    """True when every arrangement has two clearly separate items (its max distance is not tiny)."""
    return bool(np.all(np.ptp(pos, axis=1).max(axis=-1) > 1e-3))


# ---------------------------------------------------------------- RDM

def test_rdm_known_answer_right_triangle_and_average():
    one = np.array([[0, 0], [3, 0], [0, 4]], float)  # distances 3, 4, 5
    np.testing.assert_allclose(ad.arrangement_rdm(one), [[0, .6, .8], [.6, 0, 1], [.8, 1, 0]])
    two = np.array([[0, 0], [1, 0], [2, 0]], float)  # distances 1, 2, 1 -> .5, 1, .5
    np.testing.assert_allclose(ad.arrangement_rdm([one, two]),
                               [[0, .55, .9], [.55, 0, .75], [.9, .75, 0]])


@settings(max_examples=60, deadline=None)
@given(pos=arrays(float, st.tuples(st.integers(1, 4), st.integers(2, 25), st.just(2)), elements=coordinate),
       angle=st.floats(0, 2 * np.pi), shift=st.tuples(coordinate, coordinate), scale=st.floats(0.05, 20))
def test_rdm_properties_and_similarity_invariance(pos, angle, shift, scale):
    assume(spread_out(pos))
    rdm = ad.arrangement_rdm(pos)
    n = pos.shape[1]
    assert rdm.shape == (n, n)
    np.testing.assert_array_equal(rdm, rdm.T)
    np.testing.assert_array_equal(np.diag(rdm), 0)
    assert rdm.min() >= 0 and rdm.max() <= 1 + 1e-12
    np.testing.assert_allclose(rdm, np.mean([ad.arrangement_rdm(p) for p in pos], axis=0), atol=1e-12)
    assert ad.arrangement_rdm(pos[0]).max() == pytest.approx(1.0)  # one arrangement: max exactly 1
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = pos.copy()
    moved[0] = scale * pos[0] @ rotation.T + np.asarray(shift)  # a similarity transform of one arrangement
    np.testing.assert_allclose(ad.arrangement_rdm(moved), rdm, atol=1e-9)


def test_rdm_rejects_degenerate_input():
    with pytest.raises(ValueError, match="one point"):
        ad.arrangement_rdm(np.ones((2, 25, 2)))
    with pytest.raises(ValueError, match="NaN"):
        ad.arrangement_rdm([[0, 0], [np.nan, 1]])
    with pytest.raises(ValueError, match="shape"):
        ad.arrangement_rdm(np.zeros((25, 3)))


# ---------------------------------------------------------------- layouts and exemplars

def test_ring_layout_uses_every_slot_once_at_the_ring_radius():
    layouts = ad.start_layouts(seed=11, n_arrangements=3, ring_radius=0.7)
    assert layouts.shape == (3, 25, 2)
    np.testing.assert_allclose(np.linalg.norm(layouts, axis=-1), 0.7)
    for layout in layouts:
        slots = np.round(((np.pi / 2 - np.arctan2(layout[:, 1], layout[:, 0])) % (2 * np.pi)) / (2 * np.pi / 25))
        assert sorted(slots.astype(int) % 25) == list(range(25))
    np.testing.assert_array_equal(layouts, ad.start_layouts(11, 3, 0.7))  # reproducible
    assert not np.allclose(layouts[0], layouts[1])  # a new layout each arrangement
    assert not np.allclose(layouts, ad.start_layouts(12, 3, 0.7))
    np.testing.assert_array_equal(ad.start_layouts(11, 5, 0.7)[:3], layouts)  # not tied to the number
    with pytest.raises(UserError, match="ring radius"):
        ad.start_layouts(1, 1, ring_radius=1.2)


def test_exemplar_choice_is_seeded_and_from_the_options():
    options = {(int(b), int(l)): [f"{b}{l}{k}" for k in range(8)] for b, l in ad.CELLS}
    chosen = ad.choose_exemplars(options, seed=5)
    assert chosen == ad.choose_exemplars(options, seed=5)
    assert all(e in options[(int(b), int(l))] for (b, l), e in zip(ad.CELLS, chosen))
    assert len(set(e[-1] for e in chosen)) > 1  # not always the same exemplar
    options[(3, 4)] = []
    with pytest.raises(UserError, match="B3L4"):
        ad.choose_exemplars(options, seed=5)


def test_condition_order_is_branchiness_major():
    assert ad.LABELS[7] == "B2L3" and cell_index(2, 3) == 7
    np.testing.assert_array_equal(cell_index(ad.CELLS[:, 0], ad.CELLS[:, 1]), np.arange(25))


# ---------------------------------------------------------------- dragging

def test_topmost_tree_is_picked_and_drawn_on_top():
    arena = ad.Arena([[0, 0], [0.05, 0], [0.5, 0.5]], half_extent=0.1)
    assert arena.tree_at([0.02, 0]) == 1  # trees 0 and 1 overlap there; 1 is drawn later
    assert arena.tree_at([0.9, -0.9]) is None
    assert arena.press([-0.06, 0]) == 0  # only tree 0 there
    assert arena.order == [1, 2, 0]
    arena.release()
    assert arena.tree_at([0.02, 0]) == 0  # now on top
    assert arena.moves.tolist() == [0, 0, 0]  # a click without moving is not a move


def test_grab_mask_grows_the_drawn_pixels():
    alpha = np.zeros((100, 50))
    alpha[40, 20] = 255
    mask = ad.grab_mask(alpha)  # grows by 2 % of 100 = 2 pixels (city-block)
    assert mask.sum() == 13 and mask[38, 20] and mask[40, 22] and not mask[38, 22]


def test_clicks_go_to_the_topmost_tree_drawn_under_the_pointer():
    top_half = np.zeros((10, 10), bool)
    top_half[:5] = True  # drawn only in its upper half (row 0 = top)
    everywhere = np.ones((10, 10), bool)
    arena = ad.Arena([[0, 0], [0, 0.05]], half_extent=0.1, masks=[everywhere, top_half])
    assert arena.tree_at([0, 0.1]) == 1  # upper half of tree 1, drawn on top
    assert arena.tree_at([0, -0.02]) == 0  # inside tree 1's box, but tree 1 is transparent there
    arena = ad.Arena([[0, 0], [0, 0.05]], half_extent=0.1, masks=[top_half, top_half])
    assert arena.tree_at([0, -0.04]) == 1  # neither is drawn there: the topmost box wins


def test_drag_keeps_the_grip_and_counts_moves():
    arena = ad.Arena([[0, 0], [0.5, 0.5]], half_extent=0.1)
    arena.press([0.05, -0.02])
    arena.drag([0.3, -0.4])
    arena.drag([0.25, 0.1])
    arena.release()
    np.testing.assert_allclose(arena.positions[0], [0.2, 0.12])
    arena.drag([0.9, 0.9])  # nothing held: nothing moves
    np.testing.assert_allclose(arena.positions[0], [0.2, 0.12])
    assert arena.press([0.9, 0.9]) is None
    assert arena.moves.tolist() == [1, 0]


@settings(max_examples=50, deadline=None)
@given(path=st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=8),
       half=st.floats(0.02, 0.3))
def test_trees_stay_inside_the_arena(path, half):
    arena = ad.Arena(np.zeros((1, 2)), half_extent=half)
    arena.press([0, 0])
    for xy in path:
        arena.drag(xy)
        assert np.linalg.norm(arena.positions[0]) <= 1 - half + 1e-12
    arena.release()
    last = np.asarray(path[-1])
    expected = ad.clamp_to_disc(last, 1 - half)
    np.testing.assert_allclose(arena.positions[0], expected, atol=1e-12)  # radially onto the edge


# ---------------------------------------------------------------- files

def make_writer(tmp_path, seed=3):
    files = ad.arrangement_files(tmp_path, "P01", 2, "post")
    exemplars = [str(i % 8 + 1) for i in range(25)]
    return ad.ArrangementWriter(files, participant_id="P01", session=2, phase="post", exemplars=exemplars,
                                config={"n_arrangements": 2}, seed=seed)


def test_writer_flushes_each_arrangement_and_rdm_matches(tmp_path):
    writer = make_writer(tmp_path)
    files = writer.files
    assert files.trees.name == "sub-P01_ses-2_task-arrangement_phase-post_beh.tsv"
    assert files.trees.parent == tmp_path / "sub-P01" / "ses-2" / "beh"
    rng = np.random.default_rng(0)
    starts = ad.start_layouts(3, 2)
    finals = ad.clamp_to_disc(rng.uniform(-1, 1, (2, 25, 2)), 0.9)
    writer.add(starts[0], finals[0], np.arange(25) % 3, 12.5)
    assert len(ad.read_arrangements(files.trees)) == 25  # on disk before the session ends
    writer.add(starts[1], finals[1], np.ones(25, int), 8.25)
    writer.finish()
    table = ad.read_arrangements(files.trees)
    np.testing.assert_array_equal(ad.positions(table, "start"), starts)  # exact round trip
    np.testing.assert_array_equal(ad.positions(table), finals)
    assert table.groupby("arrangement").arrangement_moves.first().tolist() == [24, 25]
    assert table.groupby("arrangement").arrangement_duration.first().tolist() == [12.5, 8.25]
    expected = ad.arrangement_rdm(finals)
    np.testing.assert_array_equal(ad.read_rdm(files.rdm_npy), expected)
    np.testing.assert_array_equal(ad.read_rdm(files.rdm_tsv), expected)
    np.testing.assert_array_equal(ad.participant_rdm(files.trees), expected)
    sidecar = json.loads(files.sidecar.read_text())
    assert sidecar["seed"] == 3 and sidecar["exemplars"]["B1L2"] == "2"
    assert sidecar["columns"]["final_x"]["Units"] == "arena radius"
    assert json.loads(files.rdm_sidecar.read_text())["n_arrangements"] == 2


def test_nothing_is_overwritten(tmp_path):
    make_writer(tmp_path)
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        make_writer(tmp_path)


def test_positions_are_read_in_condition_order_from_shuffled_rows(tmp_path):
    writer = make_writer(tmp_path)
    finals = ad.clamp_to_disc(np.random.default_rng(1).normal(size=(25, 2)), 0.9)
    writer.add(ad.start_layouts(3, 1)[0], finals, np.zeros(25, int), 1.0)
    table = ad.read_arrangements(writer.files.trees).sample(frac=1, random_state=0)
    np.testing.assert_array_equal(ad.positions(table)[0], finals)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("\t0.5\t", "\tabc\t", 1), "expected a number"),
    (lambda t: t.replace("\t0.5\t", "\t1.5\t", 1), "outside the arena"),
    (lambda t: "\n".join(t.splitlines()[:-1]) + "\n", "exactly one row per tree"),
    (lambda t: t.replace("final_y", "y_final"), "missing column"),
])
def test_bad_tree_tables_are_reported(tmp_path, edit, message):
    writer = make_writer(tmp_path)
    finals = np.full((25, 2), 0.0)
    finals[:, 0] = 0.5
    finals[0] = [0.1, 0.1]
    writer.add(ad.start_layouts(3, 1)[0], finals, np.zeros(25, int), 1.0)
    bad = tmp_path / "bad.tsv"
    bad.write_text(edit(writer.files.trees.read_text()))
    with pytest.raises(UserError, match=message):
        ad.read_arrangements(bad)


@pytest.mark.parametrize("pid, phase", [("P/01", "pre"), ("P01", "pre post"), ("P01", "../x")])
def test_ids_that_would_escape_the_folder_are_refused(tmp_path, pid, phase):
    with pytest.raises(UserError, match="letters and digits"):
        ad.arrangement_files(tmp_path, pid, 1, phase)

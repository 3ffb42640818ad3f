"""Atlas ROIs: a real NIfTI atlas (nibabel) with a label table gives the same ROI RDMs as the
equivalent --roi masks; broken atlases give one line naming the file and the fix, before any work."""

from __future__ import annotations

import shutil

import nibabel
import numpy as np
import pytest
from neural_helpers import mask_path, shared_bold
from threadpoolctl import threadpool_limits

from garden.analysis.neural.glm import GlmConfig, fit_dataset, load_mask
from garden.analysis.neural.grids import check_same_grid, grid_offset_mm
from garden.analysis.neural.rois import read_atlas_labels
from garden.core.errors import UserError
from garden.cli import main

NAMES = ("rich", "lazy", "noise")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(simulated BOLD folder, its GLM folder, a folder for atlases)."""
    root = tmp_path_factory.mktemp("atlas")
    bold = shared_bold(tmp_path_factory, [0.1])
    with threadpool_limits(1):
        glm = fit_dataset(bold, root / "glm", mask=mask_path(bold), config=GlmConfig(noise_model="ols"))
    return bold, glm, root


def _atlas(bold, path, *, labels=(1, 2, 3), dtype=np.int16, shape=None, extra=None):
    """An atlas image: the simulator's ROI masks as labels ``labels`` (+ ``extra`` {index: voxel})."""
    brain, image = load_mask(mask_path(bold))
    data = np.zeros(brain.shape, dtype=dtype)
    for label, name in zip(labels, NAMES):
        data[load_mask(mask_path(bold, name))[0]] = label
    for label, voxel in (extra or {}).items():
        data[voxel] = label
    if shape is not None:
        data = data[tuple(slice(0, s) for s in shape)]
    nibabel.Nifti1Image(data, image.affine).to_filename(path)
    return path


def _rdms(tmp_path, glm, name, *options):
    out = tmp_path / name
    assert main(["neural", "rdms", str(glm), "--out", str(out), *map(str, options)]) == 0
    return {p.name: p.read_bytes() for p in sorted(out.rglob("*_rdm.tsv"))}


def test_atlas_labels_give_the_rdms_of_the_same_masks(data, tmp_path):
    bold, glm, _ = data
    atlas = _atlas(bold, tmp_path / "atlas.nii.gz", labels=(4, 7, 9))
    table = tmp_path / "labels.tsv"
    table.write_text("index\tname\tcolour\n0\tBackground\t#000\n4\trich\t#f00\n7\tlazy\t#0f0\n9\tnoise\t#00f\n")
    masks = [x for name in NAMES for x in ("--roi", f"{name}={mask_path(bold, name)}")]
    from_masks = _rdms(tmp_path, glm, "masks", *masks)
    from_atlas = _rdms(tmp_path, glm, "atlas", "--atlas", atlas, "--atlas-labels", table)
    assert len(from_masks) == 3 and from_atlas == from_masks
    sidecar = next((tmp_path / "atlas").rglob("*_roi-lazy_desc-crossnobis_rdm.json")).read_text()
    assert "atlas.nii.gz#7" in sidecar


def test_nilearn_label_list_and_a_chosen_subset(data, tmp_path):
    bold, glm, _ = data
    atlas = _atlas(bold, tmp_path / "atlas.nii.gz")
    names = tmp_path / "labels.txt"
    names.write_text("Background\nRich ROI (left)\nlazy\nnoise\n")  # nilearn: line k names label k
    assert read_atlas_labels(names) == {1: "RichROIleft", 2: "lazy", 3: "noise"}
    chosen = _rdms(tmp_path, glm, "some", "--atlas", atlas, "--atlas-labels", names,
                   "--atlas-rois", "RichROIleft,noise", "--roi", f"extra={mask_path(bold, 'lazy')}")
    assert sorted(n.split("_roi-")[1].split("_")[0] for n in chosen) == ["RichROIleft", "extra", "noise"]
    masks = _rdms(tmp_path, glm, "masks", "--roi", f"RichROIleft={mask_path(bold, 'rich')}")
    assert chosen[next(iter(masks))] == next(iter(masks.values()))


@pytest.mark.parametrize("how, message", [
    ("other grid", r"atlas.nii.gz: grid \(20, 10, 9\) differs from the grid \(20, 10, 10\) of the GLM image .*run-1"),
    ("label absent", r"atlas.nii.gz: label\(s\) \['absent \(5\)'\] of .*labels.tsv have no voxel in the atlas image"),
    ("outside the brain", r"atlas.nii.gz#4: ROI 'corner' has 0 voxel\(s\) inside the GLM"),
    ("unknown name", r"--atlas-rois: \['nope'\] are not labels of"),
    ("not integer", r"atlas.nii.gz: non-integer values"),
    ("same names", r"labels.tsv: labels 1 and 2 are both named 'rich'"),
    ("no labels file", r"--atlas and --atlas-labels go together"),
    ("name twice", r"ROI name\(s\) \['rich'\] also given with --roi"),
])
def test_broken_atlases_give_one_line_and_exit_2(data, tmp_path, capsys, how, message):
    bold, glm, _ = data
    table = {"label absent": "index\tname\n1\trich\n5\tabsent\n",
             "outside the brain": "index\tname\n1\trich\n4\tcorner\n",
             "same names": "index\tname\n1\trich\n2\tri-ch\n"}.get(how, "index\tname\n1\trich\n2\tlazy\n3\tnoise\n")
    (tmp_path / "labels.tsv").write_text(table)
    atlas = _atlas(bold, tmp_path / "atlas.nii.gz", shape=(20, 10, 9) if how == "other grid" else None,
                   dtype=np.float32 if how == "not integer" else np.int16,
                   extra={4: (0, 0, 0)} if how == "outside the brain" else None)
    if how == "not integer":
        image = nibabel.load(str(atlas))
        nibabel.Nifti1Image(image.get_fdata() * 0.5, image.affine).to_filename(atlas)
    options = ["--atlas", str(atlas)] + ([] if how == "no labels file" else ["--atlas-labels", str(tmp_path / "labels.tsv")])
    options += {"unknown name": ["--atlas-rois", "nope"],
                "name twice": ["--roi", f"rich={mask_path(bold, 'rich')}"]}.get(how, [])
    code = main(["neural", "rdms", str(glm), "--out", str(tmp_path / "rdms"), *options])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert pytest.importorskip("re").search(message, err), err
    assert not (tmp_path / "rdms").exists() and not (tmp_path / "rdms.partial").exists()


def test_stats_checks_atlas_rois_against_the_searchlight_mask(data, tmp_path, capsys):
    bold, glm, _ = data
    atlas = _atlas(bold, tmp_path / "atlas.nii.gz", shape=(20, 9, 10))
    (tmp_path / "labels.tsv").write_text("index\tname\n1\trich\n")
    code = main(["neural", "stats", str(glm), "--out", str(tmp_path / "stats"), "--searchlight", str(glm),
                 "--mask", str(mask_path(bold)), "--atlas", str(atlas), "--atlas-labels", str(tmp_path / "labels.tsv"),
                 "--atlas-rois", "rich"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "differs from the grid (20, 10, 10) of the mask" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "stats").exists()


def _moved(source, target, *, shift_mm=0.0, volumes=None):
    """A copy of the NIfTI ``source`` whose affine is moved ``shift_mm`` along x, or its data given
    ``volumes`` copies along a 4th axis."""
    image = nibabel.load(str(source))
    affine, values = image.affine.copy(), np.asarray(image.dataobj)
    affine[0, 3] += shift_mm
    if volumes is not None:
        values = np.repeat(values[..., None], volumes, axis=3)
    nibabel.Nifti1Image(values, affine).to_filename(target)
    return target


def _glm_with_49_betas(glm, tmp_path):
    copy = tmp_path / "glm-49"
    shutil.copytree(glm, copy)
    beta = sorted(copy.rglob("*run-2_stat-effect_statmap.nii.gz"))[0]
    image = nibabel.load(str(beta))
    nibabel.Nifti1Image(np.asarray(image.dataobj)[..., :49], image.affine).to_filename(beta)
    return copy


@pytest.mark.parametrize("step, how, message", [
    ("glm", "mask moved 50 mm", r"brain.nii.gz: its affine puts voxels up to 50 mm from where the affine of "
                                r"\S+run-1_bold.nii.gz puts them"),
    ("rdms", "mask moved 50 mm", r"rich.nii.gz: its affine puts voxels up to 50 mm from where the affine of the GLM "
                                 r"image \S+run-1_stat-effect_statmap.nii.gz puts them"),
    ("searchlight", "mask moved 50 mm", r"run-1_stat-effect_statmap.nii.gz: its affine puts voxels up to 50 mm from "
                                        r"where the affine of \S+brain.nii.gz puts them"),
    ("rdms", "mask of 2 volumes", r"rich.nii.gz: shape \(20, 10, 10, 2\); a mask is one 3-D volume"),
    ("searchlight", "mask of 2 volumes", r"brain.nii.gz: shape \(20, 10, 10, 2\); a mask is one 3-D volume"),
    ("rdms", "a run of 49 betas", r"run-2_stat-effect_statmap.nii.gz: shape \(20, 10, 10, 49\); a GLM beta image "
                                  r"holds 50 volumes"),
    ("searchlight", "a run of 49 betas", r"run-2_stat-effect_statmap.nii.gz: shape \(20, 10, 10, 49\)"),
])
def test_images_off_the_grid_give_one_line_naming_both_files(data, tmp_path, capsys, step, how, message):
    """Masks, ROIs and GLM images on another grid (shape, affine) or of the wrong kind are refused before any
    work, naming the file (and the one it does not match) and the offset in mm, not a numpy message."""
    bold, glm, _ = data
    name = "brain" if step != "rdms" else "rich"
    mask = _moved(mask_path(bold, name), tmp_path / f"{name}.nii.gz", shift_mm=50.0 if "50 mm" in how else 0.0,
                  volumes=2 if "volumes" in how else None)
    glm = _glm_with_49_betas(glm, tmp_path) if "49" in how else glm
    out = tmp_path / "out"
    option = ["--roi", f"rich={mask}"] if step == "rdms" else ["--mask", str(mask)]
    source = bold if step == "glm" else glm
    fast = ["--noise-model", "ols"] if step == "glm" else []
    code = main(["neural", step, str(source), "--out", str(out), *option, *fast])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert pytest.importorskip("re").search(message, err), err
    assert not out.exists() and not (tmp_path / "out.partial").exists()


def test_a_grid_is_the_same_within_a_thousandth_of_a_millimetre():
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    moved = affine.copy()
    moved[:3, 3] = [0.0, 0.0, 5e-4]
    assert grid_offset_mm(affine, moved, (20, 10, 10)) == pytest.approx(5e-4)
    check_same_grid("a.nii.gz", (20, 10, 10), moved, reference="b.nii.gz", reference_shape=(20, 10, 10, 50),
                    reference_affine=affine)
    tilted = affine.copy()
    tilted[0, 1] = 0.01  # x grows 0.01 mm per voxel along y: 0.09 mm at the far corner (y = 9)
    assert grid_offset_mm(affine, tilted, (20, 10, 10)) == pytest.approx(0.09)
    with pytest.raises(UserError, match=r"a.nii.gz: its affine puts voxels up to 0.09 mm from where the affine of "
                                        r"b.nii.gz puts them"):
        check_same_grid("a.nii.gz", (20, 10, 10), tilted, reference="b.nii.gz", reference_shape=(20, 10, 10),
                        reference_affine=affine)


def test_label_tables_are_checked():
    with pytest.raises(UserError, match="no such label table"):
        read_atlas_labels("/no/such/labels.tsv")

"""Documentation figures: our contact sheet beside the published one, the grading of both, the cues.

Why: docs/stimuli.md shows that our trees are of the same graded kind as the published ones, measured
the same way (``garden.stimuli.measures``). The published trees are only ever shown as a small rendering
made here from the lab's copy, never committed as files. Matplotlib (Agg) is imported when called.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from garden.stimuli.gardens import frame_image, garden_scene, place_tree
from garden.stimuli.measures import cell_means
from garden.stimuli.sets import StimulusSet, contact_sheet, load_set, make_set
from garden.stimuli.trees import GENERATOR_VERSION, LEVELS, render_tree


def _pyplot():
    matplotlib.use("Agg")

    return plt


def sheets_side_by_side(ours: StimulusSet, published: StimulusSet, cell_px: int = 60):
    """Figure: our 5x5 sheet (left) and the published one (right), rows branchiness, columns leafiness."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.8))
    for ax, stimulus_set, title in ((axes[0], ours, f"ours (generator {GENERATOR_VERSION}, exemplar 1)"),
                                    (axes[1], published, "published (Flesch et al.), one per cell")):
        ax.imshow(contact_sheet(stimulus_set, cell_px=cell_px))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("leafiness 1 → 5")
        ax.set_ylabel("branchiness 1 → 5 (top to bottom)")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def grading_figure(ours: dict[str, np.ndarray], published: dict[str, np.ndarray]):
    """Figure: leaf share vs leafiness (a line per branchiness) and crown area vs branchiness, both sets."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    colours = plt.cm.viridis(np.linspace(0, 0.9, 5))
    for k in range(5):
        axes[0].plot(LEVELS, ours["leaf_share"][k], "-o", color=colours[k], label=f"ours, branchiness {k + 1}")
        axes[0].plot(LEVELS, published["leaf_share"][k], "--x", color=colours[k], alpha=0.7)
        axes[1].plot(LEVELS, ours["crown_area"][:, k], "-o", color=colours[k], label=f"ours, leafiness {k + 1}")
        axes[1].plot(LEVELS, published["crown_area"][:, k], "--x", color=colours[k], alpha=0.7)
    axes[0].plot([], [], "k--x", label="published (dashed)")
    axes[1].plot([], [], "k--x", label="published (dashed)")
    axes[0].set(xlabel="leafiness level", ylabel="leaf pixels / tree pixels", title="foliage vs leafiness")
    axes[1].set(xlabel="branchiness level", ylabel="crown hull area / image area", title="crown vs branchiness")
    for ax in axes:
        ax.set_xticks(LEVELS)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cues_figure(size_px: int = 200):
    """Figure: north and south frames around a tree, and the two garden scenes with a tree."""
    plt = _pyplot()
    tree = render_tree(3, 3, 1, size_px)
    grey = Image.new("RGBA", (size_px, size_px), (128, 128, 128, 255))
    panels = []
    for context in ("north", "south"):
        framed = place_tree(tree, grey, scale=0.7)
        framed.alpha_composite(frame_image(context, size_px, max(2, size_px * 40 // 600)))
        panels.append((f"{context}: frame", framed))
    for context in ("north", "south"):
        panels.append((f"{context}: garden scene", place_tree(tree, garden_scene(context, size_px), scale=0.8)))
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
    for ax, (title, image) in zip(axes, panels):
        ax.imshow(image)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def doc_figures(out_dir: str | Path, published_dir: str | Path, exemplars: int = 5, size_px: int = 250) -> list[Path]:
    """Write docs/img/stimuli_{sheets,grading,cues}.png (our set made in a temporary folder, seed 0)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    published = load_set(published_dir)
    pub_means = cell_means((b, l, Image.open(published.file(b, l, published.exemplars(b, l)[0])))
                           for b, l in published.cells)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = load_set(make_set(Path(tmp) / "set", exemplars, size_px, seed=0, progress=False))
        our_means = cell_means((b, l, Image.open(ours.file(b, l, e)))
                               for b, l in ours.cells for e in ours.exemplars(b, l))
        for name, fig in (("stimuli_sheets.png", sheets_side_by_side(ours, published)),
                          ("stimuli_grading.png", grading_figure(our_means, pub_means)),
                          ("stimuli_cues.png", cues_figure())):
            fig.savefig(out_dir / name, dpi=90)
            written.append(out_dir / name)
    return written

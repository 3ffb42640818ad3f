"""The tree images of a session, rendered once and cached as PsychoPy textures."""

from __future__ import annotations

from typing import Any

from garden.experiment.config import (
    Protocol,
)
from garden.stimuli.trees import render_tree
from PIL import Image


class Trees:
    """Tree images by (branchiness, leafiness, exemplar): files of a stimulus set, or rendered."""

    def __init__(self, protocol: Protocol, stimulus_set: Any | None = None):
        self.set, self.seed = stimulus_set, protocol.tree_seed
        self.size_px = int(protocol.display.in_pixels().tree_size_px)

    def image(self, branchiness: int, leafiness: int, exemplar: str) -> Any:
        """The tree as a PIL image (RGBA)."""
        if self.set is not None:
            with Image.open(self.set.file(branchiness, leafiness, exemplar)) as image:
                return image.convert("RGBA")

        return render_tree(int(branchiness), int(leafiness), int(exemplar), self.size_px, seed=self.seed)

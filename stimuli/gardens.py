"""Context cues: coloured square frames (the running task) and garden scenes (instructions).

Why: the context ("garden") tells participants which feature earns points. In the scanner task it
is a square frame around the tree, RGB (0, 178, 255) for north and (255, 178, 0) for south, 600 px
square with a 40 px line on grey; the instructions used a winter (blue) and a summer (orange) garden
scene. Everything here is drawn with Pillow from a seed, so cues are reproducible pixel for pixel.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from garden.core.errors import UserError

CONTEXT_COLOURS: dict[str, tuple[int, int, int]] = {"north": (0, 178, 255), "south": (255, 178, 0)}
"""RGB of each context's cue (north = blue, leafiness relevant; south = orange, branchiness relevant)."""

Colour = tuple[int, int, int]


def context_colour(context: str, colour: Colour | None = None) -> Colour:
    """The cue colour of ``context`` (or ``colour`` when given); UserError for an unknown context."""
    if colour is not None:
        return tuple(int(c) for c in colour)  # type: ignore[return-value]
    if context not in CONTEXT_COLOURS:
        raise UserError(f"context={context!r}: must be one of {', '.join(CONTEXT_COLOURS)}")
    return CONTEXT_COLOURS[context]


def frame_image(context: str, size_px: int = 600, line_px: int = 40, colour: Colour | None = None,
                background: Colour | None = None) -> Image.Image:
    """A square frame ``size_px`` wide with a ``line_px`` border in the context colour (RGBA).

    Inside and outside the line is transparent unless ``background`` (RGB) fills the square.
    """
    if not 0 < 2 * line_px < size_px:
        raise UserError(f"line_px={line_px}, size_px={size_px}: the line must be thinner than half the frame")
    fill = (*background, 255) if background is not None else (0, 0, 0, 0)
    image = Image.new("RGBA", (size_px, size_px), fill)
    ImageDraw.Draw(image).rectangle((0, 0, size_px - 1, size_px - 1),
                                    outline=(*context_colour(context, colour), 255), width=line_px)
    return image


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def garden_scene(context: str, size_px: int = 600, colour: Colour | None = None, seed: int = 0,
                 line_px: int = 0) -> Image.Image:
    """A garden in the context colour: sky gradient, ground, winter snowflakes or a summer sun (RGBA, opaque).

    North is a pale-blue winter garden with snow, south a warm summer garden with a sun; both are tinted
    by the cue colour so the scene and the frame agree. ``line_px`` > 0 adds the context frame around it.
    """
    base = context_colour(context, colour)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(sum(base),)))
    image = Image.new("RGBA", (size_px, size_px))
    draw = ImageDraw.Draw(image)
    horizon = int(size_px * 0.78)
    white, dark = (255, 255, 255), (60, 60, 60)
    for y in range(horizon):
        draw.line((0, y, size_px, y), fill=(*_mix(white, base, 0.25 + 0.35 * y / horizon), 255))
    winter = context == "north" if colour is None else base[2] > base[0]
    ground = _mix(white, base, 0.15) if winter else _mix(_mix(base, (60, 140, 40), 0.6), dark, 0.1)
    draw.rectangle((0, horizon, size_px, size_px), fill=(*ground, 255))
    if winter:
        r = max(1, size_px // 150)
        for x, y in rng.uniform(0, size_px, (int(size_px * 0.25), 2)).tolist():
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
    else:
        r = size_px * 0.07
        cx, cy = size_px * 0.82, size_px * 0.16
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*_mix(base, (255, 240, 120), 0.5), 255))
        for x in rng.uniform(0, size_px, int(size_px * 0.15)).tolist():
            y = horizon + rng.uniform(0.02, 0.2) * size_px
            draw.line((x, y, x + rng.uniform(-3, 3), y - size_px * 0.02), fill=(*_mix(ground, dark, 0.3), 255))
    if line_px > 0:
        image.alpha_composite(frame_image(context, size_px, line_px, colour))
    return image


def place_tree(tree: Image.Image, background: Image.Image, scale: float = 0.8) -> Image.Image:
    """The tree resized to ``scale`` of the background's side and composited at its centre (RGBA)."""
    side = max(1, int(round(background.width * scale)))
    tree = tree.convert("RGBA").resize((side, side), Image.Resampling.LANCZOS)
    out = background.convert("RGBA").copy()
    out.alpha_composite(tree, ((out.width - side) // 2, (out.height - side) // 2))
    return out

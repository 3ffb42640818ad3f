"""What ``garden report`` drew: each figure it embedded, described from the figure object as the report saved it.

The report's own figures are checked (their smallest text, legends over data, legend order), rather than the same
figures drawn again by the test: the description is taken when ``garden.reports.html.figure_png`` has saved the
figure, and keyed by the SHA-256 of the PNG bytes, which the page embeds."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from matplotlib.figure import Figure

from garden.reports import html as report_html

IMAGE = re.compile(r"<img alt='([^']*)' style='[^']*' src='data:image/png;base64,([^']+)'>")


def _describe(fig: Figure) -> dict[str, Any]:
    """The figure as last drawn: width (inches), smallest text (pt at the figure's own size), the titles of axes
    whose legend covers plotted data, and every legend's labels."""
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    return {"width_in": float(fig.get_figwidth()),
            "smallest_pt": min(t.get_fontsize() for t in report_html.figure_texts(fig, draw=False)),
            "legends_over_data": [ax.get_title() for ax in fig.axes if report_html.legend_over_data(ax)],
            "legend_labels": [[t.get_text() for t in legend.get_texts()] for legend in legends]}


@contextlib.contextmanager
def drawn_figures() -> Iterator[dict[str, dict[str, Any]]]:
    """While open, every figure the report saves is described (``_describe``) under the SHA-256 of its PNG."""
    found: dict[str, dict[str, Any]] = {}
    save = report_html.figure_png

    def spy(fig: Figure, dpi: int = report_html.DPI) -> bytes:
        png = save(fig, dpi)
        found[hashlib.sha256(png).hexdigest()] = _describe(fig)
        return png

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_html, "figure_png", spy)
        yield found


def embedded_figures(page: str, drawn: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Caption -> description (``drawn_figures``) of each figure the page embeds that the report drew."""
    images = {html.unescape(alt): hashlib.sha256(base64.b64decode(data)).hexdigest()
              for alt, data in IMAGE.findall(page)}
    return {caption: drawn[digest] for caption, digest in images.items() if digest in drawn}

"""The participant-facing texts: one TOML file of ``key = "text"`` lines per language.

``load_strings(language)`` reads ``experiment/strings/<language>.toml`` (every key of
``REQUIRED_STRINGS``); ``read_strings`` reads any such file against its own required keys (the
arrangement task's and the web task's texts); ``fill`` puts values into ``{placeholders}``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from garden.core.errors import UserError

STRINGS_DIR = Path(__file__).with_name("strings")
"""The folder of the texts, one ``<language>.toml`` per language."""
REQUIRED_STRINGS = ("accept", "reject", "too_slow", "break", "end", "bonus", "switch", "comprehension",
                    "comprehension_wrong", "instructions_practice", "practice_again", "practice_done", "confirm_quit",
                    "wait_trigger", "instructions_default")
_FIELD = re.compile(r"{(\w+)}")


def load_strings(language: str = "en", path: str | Path | None = None) -> dict[str, str]:
    """The participant-facing texts of one language (``strings/<language>.toml``).

    Texts may use ``{placeholders}`` (e.g. ``{block}``, ``{n_blocks}``, ``{score}``); phase
    instructions are ``instructions_<phase name>`` with ``instructions_default`` as fallback.
    """
    path = Path(path) if path else STRINGS_DIR / f"{language}.toml"
    if not path.is_file():
        available = sorted(p.stem for p in STRINGS_DIR.glob("*.toml") if "_" not in p.stem)
        raise UserError(f"strings for language {language!r} not found ({path}); use one of {available}")
    return read_strings(path, REQUIRED_STRINGS, template=STRINGS_DIR / "en.toml")


def read_strings(path: str | Path, required: tuple[str, ...], *, template: Path) -> dict[str, str]:
    """Texts from a TOML file of ``key = "text"`` lines; UserError naming a missing or non-text key
    (copy it from ``template``)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such strings file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    missing = [k for k in required if k not in raw]
    if missing:
        raise UserError(f"{path}: missing text(s) {missing}; copy them from {template}")
    bad = [k for k, v in raw.items() if not isinstance(v, str)]
    if bad:
        raise UserError(f"{path}: key(s) {bad} must be text in quotes")
    return raw


def fill(template: str, **values: Any) -> str:
    """Fill ``{placeholders}`` in a text; unknown placeholders are left as they are."""
    return _FIELD.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)

"""The one exception type that means "the user gave bad input".

The ``garden`` command turns it into a single line on stderr and a non-zero exit,
never a traceback. Raise it with a message that names the file, row/field and the fix.
"""


import re
from collections.abc import Callable


class UserError(ValueError):
    """Bad input from the user (a file, a flag, a config value): message is shown as is."""


class SettingError(UserError):
    """A bad value of one setting, named as the code names it (``scales``, the parameter or config field):
    domain code says the concept, and only the command line knows its options. ``message`` may name other
    settings as ``{name}``. Read as ``scales: ...``; ``garden.cli`` words it with the options
    (``--scales: ...``) where the command has them."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting, self.message = setting, message
        super().__init__(self.worded(str))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with every setting called ``name(setting)`` (e.g. its command-line option)."""
        return f"{name(self.setting)}: " + re.sub(r"\{(\w+)\}", lambda m: name(m.group(1)), self.message)


EXTRAS = {
    "lab": {"psychopy": "PsychoPy", "pyglet": "PsychoPy", "pylsl": "pylsl (LSL markers)",
            "serial": "pyserial (serial-port markers)"},
    "web": {"starlette": "Starlette", "uvicorn": "uvicorn"},
    "neural": {"nilearn": "nilearn", "bids": "pybids", "isal": "isal (gzip of the images written)"},
    "gpu": {"torch": "torch (networks on a CUDA GPU)"},
}
"""pip extra of ``garden-task`` -> {top-level module it installs: what that module is called}."""


def missing_extra(exc: ImportError) -> str | None:
    """``"needs PsychoPy: pip install 'garden-task[lab]'"`` when ``exc`` is a module of an optional extra
    that is not installed; None for any other import error (a bug, not a missing extra)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    module = exc.name.partition(".")[0]
    extra = next((extra for extra, modules in EXTRAS.items() if module in modules), None)
    if extra is None:
        return None
    what = EXTRAS[extra][module]
    return f"needs {what}: pip install 'garden-task[{extra}]' (or, in a clone, pip install -e '.[{extra}]')"

"""The one exception type that means "the user gave bad input".

The ``garden`` command turns it into a single line on stderr and a non-zero exit,
never a traceback. Raise it with a message that names the file, row/field and the fix.
"""


class UserError(ValueError):
    """Bad input from the user (a file, a flag, a config value): message is shown as is."""

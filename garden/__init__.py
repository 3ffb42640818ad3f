"""The ``garden`` command and the end-to-end pipeline: thin wiring, no domain logic.

Nothing in stimuli/, experiment/, modeling/ or analysis/ imports this package.
"""

__version__ = "0.1.0"

"""The tree-arrangement ("arena") task: ``data`` (layouts, dragging, RDMs and files, no display),
``simulate`` (simulated arrangements), ``task`` (on screen with PsychoPy)."""

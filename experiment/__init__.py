"""The task: protocols (``config``: the schema; ``typed_toml``: the generic TOML -> dataclass builder it
uses; ``screen_texts``: the participant-facing texts of ``strings/``), trial sequences and
counterbalancing (``sequences``), sessions that belong together (``linking``), recording
(``recording``, ``session``), event markers (``markers``), windowless simulated sessions
(``simulate``), the PsychoPy task (``present``), the tree-arrangement task (``arrangement``) and the
browser task (``web``).

PsychoPy is imported only by ``garden.experiment.present`` (``arrangement.task`` opens its window
through it); everything else here is pure and display-free.
"""

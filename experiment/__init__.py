"""The task: protocols (``config``), trial sequences and counterbalancing (``sequences``), sessions
that belong together (``linking``), recording (``recording``, ``session``), event markers
(``markers``), simulation and presentation.

Only ``experiment.present`` and ``experiment.arrangement`` import PsychoPy; everything else
here is pure and display-free.
"""

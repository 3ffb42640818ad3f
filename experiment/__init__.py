"""The task: protocols (``config``), trial sequences and counterbalancing (``sequences``), sessions
that belong together (``linking``), recording (``recording``, ``session``), event markers
(``markers``), simulation and presentation.

Only ``garden.experiment.present`` and ``garden.experiment.arrangement.task`` import PsychoPy; everything else
here is pure and display-free.
"""

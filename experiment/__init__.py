"""The task: rules, trial sequences, the trial-table contract, recording and presentation.

Only ``experiment.present`` and ``experiment.arrangement`` import PsychoPy; everything else
here is pure and display-free.
"""

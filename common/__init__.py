"""Small pieces every room of garden shares: the user-error type and provenance sidecars.

This package imports nothing else of the project, so stimuli, experiment, modeling and
analysis can all depend on it without breaking the one-way data flow.
"""

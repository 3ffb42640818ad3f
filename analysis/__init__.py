"""Analyses of results: behaviour (choice tables in the canonical frame, choice RDMs), neural
patterns, networks' tables, and people compared with networks.

``choices`` (which trials are analysed, cell tables, canonical frames, fitted-model predictions),
``choice_rdms`` (per-participant choice RDMs and their model betas), ``network_tables`` (tables of a
network sweep), ``human_vs_network`` (people's RDMs against networks'), ``neural`` (condition
patterns from tables, NIfTI ROI betas, Mante units), ``behaviour`` (accuracy, learning, switch,
congruency, RTs, tests), ``session`` (one participant's session report tables). The RSA primitives
live in ``rsa``.
"""

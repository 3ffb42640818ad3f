"""Behaviour: ``choices`` (analysed trials, cell tables, canonical frames, model predictions),
``choice_rdms`` (per-participant choice RDMs and their model betas), ``measures`` (accuracy,
learning, switch costs, congruency, RTs, tests), ``group`` (the group report's further analyses),
``phase_change`` (baseline vs scan), ``ppc`` (posterior predictive checks), ``grid_prior`` (the
arrangement task's grid prior), ``session_summary`` (one participant's session tables)."""

"""The bottom layer: what every other package builds on, and nothing that needs a display.

``task`` (features, rules, counterbalancing codes, the 50 conditions, their order and labels),
``trials`` (the trial-table contract: columns, validation, reading/writing, BIDS paths,
``participants.tsv``), ``bids`` (what makes the data folder a valid BIDS dataset: ``n/a``,
``dataset_description.json``, ``sub-`` ids, per-column sidecars), ``importing`` (other labs' tables into that layout), ``responders`` (what the
experiment asks of whoever answers trials), ``files`` (durable, atomic writes), ``errors`` (the
user-error type) and ``provenance`` (JSON sidecars). Imports no other package of the project.
"""

"""The bottom layer: what every other package builds on, and nothing that needs a display.

``task`` (features, rules, counterbalancing codes, the 50 conditions, their order and labels),
``trials`` (the trial-table contract: columns, validation, reading/writing, BIDS paths,
``participants.tsv``), ``text_tables`` (reading any TSV/CSV table as text, typing its columns, the
problems found), ``bids`` (what makes the data folder a valid BIDS dataset: ``n/a``,
``dataset_description.json``, ``sub-`` ids, per-column sidecars), ``importing`` (other labs' tables
into that layout), ``responders`` (what the experiment asks of whoever answers trials), ``files``
(durable, atomic writes and folders), ``errors`` (the user-error type), ``interrupts`` (SIGTERM handled as
Ctrl-C), ``provenance`` (JSON
sidecars), ``budget`` (memory estimates checked before work), ``jobs`` (one job per unit: inline,
local processes or SLURM through submitit) and ``progress`` (progress bars). Imports no other package
of the project.
"""

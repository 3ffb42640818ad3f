"""RSA primitives, shared by the network code and the analyses (below both, above ``core``).

``distances`` (RDMs from patterns, the one vector order), ``rdms`` (``RDMs``, the one RDM type that
crosses module boundaries: matrices with pattern and rdm descriptors), ``crossval`` (cross-validated
distances across runs: crossnobis, correlation), ``model_rdms`` (hypothesised geometries and ideal
choice patterns, as ``RDMs``), ``compare`` (batched regression of ``RDMs`` on ``RDMs``, tau_a,
Spearman), ``candidates`` (which candidate
RDM set matches each person best, with bootstrap intervals per group), ``evidence`` (rich or lazy? ROI RDMs
against each person's fitted networks, noise ceilings, the conclusion chain), ``compression_model`` (the 6-parameter
fit, ours and the paper's), ``mds`` (embeddings), ``geometry`` (dimensionality, unit classes, context-weight
correlation). Pure functions on arrays and ``RDMs``; no figures.
"""

"""RSA primitives, shared by the network code and the analyses (below both, above ``core``).

``rdm`` (RDMs from patterns), ``rdms`` (the ``RDMs`` container with condition and RDM descriptors),
``crossval`` (cross-validated distances across runs), ``model_rdms`` (hypothesised geometries and
ideal choice patterns), ``compare`` (regression, tau_a, Spearman), ``candidates`` (which candidate
RDM set matches each unit best, with bootstrap intervals), ``compression_model`` (the 6-parameter
fit), ``mds`` (embeddings), ``geometry`` (dimensionality, unit classes, context-weight
correlation). Pure functions on arrays; no figures.
"""

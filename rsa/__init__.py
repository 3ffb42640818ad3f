"""RSA primitives, shared by the network code and the analyses (below both, above ``core``).

``rdm`` (RDMs from patterns, the ``RDMs`` container with condition and RDM descriptors),
``model_rdms`` (hypothesised geometries and ideal choice patterns), ``compare`` (regression,
tau_a, Spearman), ``compression_model`` (the 6-parameter fit), ``mds`` (embeddings), ``geometry``
(dimensionality, unit classes, context-weight correlation). Pure functions on arrays; no figures.
"""

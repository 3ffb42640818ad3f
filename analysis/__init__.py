"""Analysis: is a representation rich (orthogonal, low-dimensional) or lazy (grid)?

RSA primitives: ``rdm`` (RDMs from patterns), ``model_rdms`` (hypothesised geometries and ideal
choice patterns), ``compare`` (regression, tau_a, Spearman), ``compression_model`` (the 6-parameter
fit), ``mds`` (embeddings), ``geometry`` (dimensionality, unit classes), ``neural`` (loaders).
Pure functions on arrays except the loaders in ``neural``.
"""

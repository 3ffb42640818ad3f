"""Analyses of results, in three rooms that do not import each other (``.importlinter``):

``behaviour`` (which trials are analysed, choice tables in the canonical frame, choice RDMs, the
papers' behavioural measures, posterior predictive checks, the grid prior, one session's tables),
``networks`` (tables of network sweeps, the gating analysis, statistics across init scales, people
compared with networks), ``neural`` (scanner runs from BIDS, first-level GLM, ROI and searchlight
RDMs, their statistics, simulated BOLD, the Mante units). What more than one room needs lives below
them: RSA primitives and candidate matching in ``garden.rsa``, network hidden-layer RDMs in
``garden.modeling.networks.rdms``.
"""

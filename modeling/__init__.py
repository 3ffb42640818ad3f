"""Models of behaviour: psychometric choice models (fit, compare, recover) and, in
``garden.modeling.networks``, neural networks. Imports nothing heavy at package import time.

Choice models: ``models`` (the models as data), ``cells`` (trial table -> per-cell counts),
``objectives`` (Bernoulli likelihood, the published loss), ``optimise`` (the batched global fit),
``psychometric`` (predict, simulate, ``fit_table``), ``choice_model`` (``ChoiceModel``, the
scikit-learn estimator), ``constraints`` (lmfit parameters honoured by the fit), ``uncertainty``
(Wald, bootstrap and profile intervals), ``posterior`` (posterior intervals), ``comparison``
(random-effects BMS, likelihood-ratio tests), ``recovery`` (parameter and model recovery),
``agents`` (simulated participants), ``learning_curve`` (models whose choices move from chance to the
model over trials), ``flesch2018`` (readers of the published 2018 data).
"""

"""Networks: ``tables`` (tidy tables of a sweep), ``gating`` (the 2022 gating analysis), ``stats``
(compression fits and paired statistics across init scales), ``people_vs_networks`` (people's
choices and fitted parameters against networks')."""

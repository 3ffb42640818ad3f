"""Networks: ``tables`` (tidy tables of a sweep), ``gating`` (the 2022 gating analysis), ``stats``
(compression fits and paired statistics across init scales), ``people_vs_networks`` (people's
choices and fitted parameters against networks'), ``person_fits`` (is this person rich or lazy?
networks fitted to each person's choices), ``fit_summary`` (what a ``garden networks fit`` found, per
curriculum, in numbers and calibrated words), ``recovery`` (can a person's init scale be recovered
from their choices?)."""

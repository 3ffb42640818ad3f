"""Figures and HTML reports: they read results and draw them, and compute no measure.

``figures`` (matplotlib figures, one module per report section: behaviour, networks, people vs
networks, neural, arrangement, and any ``RDMs`` stack),
``html`` (the self-contained report page), ``session_report`` (the one-participant session page),
``person_fits_report`` (the page of ``garden networks fit``: is this person rich or lazy?).
"""

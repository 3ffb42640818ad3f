"""Figures and HTML reports: they read results and draw them, and compute no measure.

``figures`` (matplotlib figures, one module per report section: behaviour, networks, people vs
networks, neural, arrangement, and any ``RDMs`` stack),
``html`` (the self-contained report page), ``session`` (the one-participant session page).
"""

"""Figures and HTML reports: they read results and draw them, and compute no measure.

``figures`` (matplotlib figures of the behavioural, network and human-vs-network tables),
``html`` (the self-contained report page), ``session`` (the one-participant session page).
"""

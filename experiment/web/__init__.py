"""The task in the browser (jsPsych 8): a static site built from a protocol, and a server that records it.

* ``garden.experiment.web.site``: what the page is given (display, keys, timings, texts of a protocol; a
  participant's planned sequence from ``garden.experiment.session``) and the static site itself.
* ``garden.experiment.web.server``: a starlette app that serves the site, hands each page its sequence
  and records every trial as it arrives with ``garden.experiment.recording`` (same files as ``garden run``).

The browser code is in ``experiment/web/static``; jsPsych comes from the npm registry
(``experiment/web/package.json`` and its lockfile) and is copied into each built site.
"""

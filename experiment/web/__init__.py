"""The task in the browser (jsPsych 8): a static site built from a protocol, and a server that records it.

* ``garden.experiment.web.site``: what the page is given (display, keys, timings, texts of a protocol; a
  participant's planned sequence from ``garden.experiment.session``) and the static site itself.
* ``garden.experiment.web.server``: a starlette app that serves the site, hands each page its sequence
  and records every trial as it arrives with ``garden.experiment.recording`` (same files as ``garden run``);
  ``garden.experiment.web.refusals``: a request it refuses (an HTTP status and a one-line reason).
* ``garden.experiment.web.arranging``: the tree-arrangement task in the browser (what the page gets, the files
  of each arrangement); ``garden.experiment.web.paths``: the paths of a site's tree images.
* ``garden.experiment.web.jatos``: the static site as a JATOS study archive, and its results as trial tables.

The browser code is in ``experiment/web/static``; jsPsych comes from the npm registry
(``experiment/web/package.json`` and its lockfile) and is copied into each built site.
"""

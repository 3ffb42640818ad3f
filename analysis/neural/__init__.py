"""Neural data, BIDS -> GLM -> RDMs -> statistics: ``bids`` (finding runs, reading events), ``glm``
(first-level GLM with nilearn), ``rois`` (masks and atlases), ``rdms`` (ROI and searchlight RDMs),
``searchlight`` (spheres), ``patterns`` (condition x channel loaders), ``stats`` (model fits and
group statistics of RDMs), ``study`` (one study's statistics folder), ``simulate`` (BOLD with a
known geometry), ``mante`` (the Mante et al. 2013 units)."""

"""Neural data, BIDS -> GLM -> RDMs -> statistics: ``bids`` (finding runs, reading events), ``glm``
(first-level GLM with nilearn), ``rois`` (masks and atlases), ``grids`` (whether two images share a voxel
grid), ``rdms`` (ROI and searchlight RDMs),
``searchlight`` (spheres), ``noise`` (where the crossnobis noise covariance comes from), ``patterns``
(condition x channel loaders), ``design`` (the model-RDM design: collinearity, contrasts), ``stats``
(model fits and group statistics of RDMs), ``relevance`` (the model-free relevance index),
``study`` (one study's statistics folder), ``sensitivity`` (the ROI statistics under every HRF and
distance), ``simulate`` (BOLD with a known geometry), ``mante`` (the Mante et al. 2013 units).
Participants are ``participant_id`` (the BIDS label "sub-01"), sessions an int ``session``."""

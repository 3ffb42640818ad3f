"""Everything a participant or a network sees: trees, context cues, stimulus sets, input codes.

Modules: ``trees`` (procedural trees graded in branchiness and leafiness), ``measures`` (image
measures of the two features), ``gardens`` (context frames and garden scenes), ``sets`` (make, load,
validate stimulus folders; contact sheets), ``codes`` (Gaussian blobs, one-hot context, image codes),
``figures`` (documentation figures). Nothing here imports psychopy or torch.
"""

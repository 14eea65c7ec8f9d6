"""Image captioning, the project's side: sizing, data, training, decoding, evaluation, checkpoints,
the built-in Shapes data set and the COCO metrics (``cs231n caption``)."""

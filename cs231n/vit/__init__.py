"""Training the Vision Transformer on MNIST-format data (``cs231n vit``)."""

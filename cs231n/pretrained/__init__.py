"""Pretrained networks: SqueezeNet 1.1 in PyTorch (torchvision's layout) and its exact conversion
into the course's TensorFlow checkpoint layouts."""

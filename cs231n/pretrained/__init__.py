"""Pretrained networks: SqueezeNet 1.1 in PyTorch (torchvision's layout) and its exact conversion
into the course's TensorFlow checkpoint layouts; ResNet-18/34/50 with torchvision's module names
(``resnet``: SimCLR's encoder where torchvision does not load)."""

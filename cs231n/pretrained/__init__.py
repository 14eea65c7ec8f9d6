"""Pretrained networks: SqueezeNet 1.1 in PyTorch (torchvision's layout) and its exact conversion
into the course's TensorFlow checkpoint layouts; ResNet-18/34/50 with torchvision's module names
(``resnet``: SimCLR's encoder where torchvision does not load); the domain classifier
(``domain_classifier``: a small CNN trained once on Fashion-MNIST into the cache, whose features
score the GANs and the diffusion models: Fréchet distance and KID)."""

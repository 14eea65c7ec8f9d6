"""The ground floor every other part stands on: configuration (data and cache folders), atomic
files and locks, argument checks, PyTorch and TensorFlow utilities, the run folder, HTML pages."""

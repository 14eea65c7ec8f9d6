"""GAN training and scoring beyond the course's loop (``cs231n gan``): runs in both frameworks,
checkpoints, sample grids, Fréchet distances."""

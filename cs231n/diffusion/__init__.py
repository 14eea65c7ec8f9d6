"""The course's DDPM trained and sampled here (``cs231n diffusion``): :mod:`.training` (runs on
emoji and Fashion-MNIST), :mod:`.sampling` (the ancestral sampler and DDIM, guidance, figures),
:mod:`.scoring` (Fréchet distance and KID, as the GANs are scored), :mod:`.settings`
(defaults and names, without PyTorch). The course's own modules are
``cs231n.gaussian_diffusion``, ``cs231n.unet``, ``cs231n.ddpm_trainer`` and
``cs231n.emoji_dataset``; the offline emoji are :mod:`cs231n.data.emoji`."""

"""Measuring GAN samples with the domain classifier (:mod:`cs231n.pretrained.domain_classifier`):
the Fréchet distance (and KID) between its penultimate-layer features of generated and real
images (FID in that feature space, not Inception's). The classifier, its cache and the distances
live there, shared with the diffusion models' scores; here the GAN's side: sampling a generator.
"""

from __future__ import annotations

from ..pretrained.domain_classifier import DomainScorer
from ..pretrained.domain_classifier import frechet_distance as frechet_distance
from .training import generate


class GeneratorScorer(DomainScorer):
    """The domain classifier and the real images' statistics, loaded once (see
    :class:`cs231n.pretrained.domain_classifier.DomainScorer` for the arguments); :meth:`score`
    then scores any number of generators (the demo scores three)."""

    def score(self, G):
        """``samples`` images of ``G`` (seeded with ``seed``) scored by :meth:`score_images`:
        the classifier's test accuracy, the Fréchet distance and KID of generated vs real test
        images, the real-train vs real-test floors, and the classifier's ``info``."""
        fake = generate(G, self.samples, seed=self.seed).reshape(-1, 1, 28, 28)
        return self.score_images(fake)


def score_generator(
    G,
    dataset="fashion-mnist",
    data_root=None,
    samples=2000,
    seed=0,
    cache=None,
    log=print,
    classifier="full",
):
    """Sample quality of a generator: the classifier's test accuracy, the Fréchet distance (and
    KID) of ``samples`` generated vs real test images, and the real-train vs real-test floors;
    see :class:`GeneratorScorer` (to score several generators, make one and call its
    ``score``)."""
    return GeneratorScorer(dataset, data_root, samples, seed, cache, log, classifier).score(G)

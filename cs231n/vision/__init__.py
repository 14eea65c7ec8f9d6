"""Network visualization beyond the course's functions (``cs231n saliency``, ``fool``,
``visualize-class``): images and classes from the command line, the framework switch,
attribution methods, figures."""

"""socbench: score Earth System Model soil organic carbon against observations.

Not only "is the stock right?" but "is it right for the right reasons?": per
biome, emulators trained on every dataset are compared by their driver
importances and response shapes, with the spread between observation products
counted as uncertainty.
"""

__version__ = "0.1.0"

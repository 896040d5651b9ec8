"""fastgan: train MLP GANs fast on a CPU.

`GAN` is a drop-in for the NumPy tutorial's class and the modern API in one;
`fastgan.datasets.load_data()` returns MNIST like keras does.
"""
from . import datasets
from .config import Config
from .gan import GAN

__version__ = "0.1.0"
__all__ = ["GAN", "Config", "datasets", "__version__"]

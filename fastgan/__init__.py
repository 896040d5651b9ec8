"""fastgan: train MLP GANs fast on a CPU.

`GAN` is a drop-in for the NumPy tutorial's class and the modern API in one;
`fastgan.datasets.load_data()` returns MNIST like keras does.

The package imports its parts on first use (`fastgan.GAN` loads NumPy and Numba), so the
`fastgan` command is answering Ctrl-C before the heavy libraries load (fastgan.entry).
"""
import importlib

__version__ = "0.1.0"
__all__ = ["GAN", "Config", "datasets", "__version__"]
_PARTS = {"GAN": "gan", "Config": "config", "datasets": "datasets"}  # name: its module


def __getattr__(name):
    if name not in _PARTS:
        raise AttributeError(f"module 'fastgan' has no attribute {name!r}")
    module = importlib.import_module(f".{_PARTS[name]}", __name__)
    value = module if name == "datasets" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PARTS))

"""Numba kernels and their plain-NumPy twins (imported as fastgan.kernels)."""

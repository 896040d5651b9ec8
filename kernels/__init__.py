"""Numba kernels and their plain-NumPy twins (imported as fastgan.kernels)."""
from .threading_layer import load_tbb

load_tbb()  # before any parallel region: Numba picks its threading layer at the first

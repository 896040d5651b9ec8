"""Data sets for fastgan: IDX files, toy distributions, MNIST downloads, and `load_dataset`.

Readers here know nothing of nets: they return NumPy arrays and `Dataset` objects.
"""
from fastgan.data.download import DownloadError, cache_dir, fetch, fetch_files
from fastgan.data.idx import IDXError, read_idx, write_idx
from fastgan.data.sources import (FASHION_CLASSES, IMAGE_SHAPE, MNIST_CLASSES, PIXEL_SCALE,
                                  SPECS, Dataset, class_digits, float_rows, image_rows,
                                  load_dataset, load_raw, read_image_pair, renumber_classes,
                                  scale_images, select_digits)
from fastgan.data.toy import TOY_SETS, ToySet

__all__ = ["DownloadError", "cache_dir", "fetch", "fetch_files", "IDXError", "read_idx",
           "write_idx", "FASHION_CLASSES", "IMAGE_SHAPE", "MNIST_CLASSES", "PIXEL_SCALE", "SPECS",
           "Dataset", "class_digits", "float_rows", "image_rows", "load_dataset", "load_raw",
           "read_image_pair", "renumber_classes", "scale_images", "select_digits", "TOY_SETS",
           "ToySet"]

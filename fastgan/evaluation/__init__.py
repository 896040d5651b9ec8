"""Evaluation: metrics for image GANs in the eyes of a small MNIST classifier trained with
fastgan's own engine (FID with a real-vs-real floor, Inception Score, digit coverage), and
mode metrics for toy GANs.

>>> from fastgan.evaluation import evaluate_checkpoint, format_report
>>> print(format_report(evaluate_checkpoint("runs/mnist/checkpoint.npz")))  # doctest: +SKIP
"""
from .classifier import Classifier, ClassifierError, load_classifier, split_rows
from .metrics import (digit_metrics, evaluate_images, fid, frechet_distance, gaussian_stats,
                      inception_score)
from .report import evaluate_checkpoint, evaluate_gan, format_report
from .toy_metrics import evaluate_toy, parabola_distance
from .training import train_classifier

__all__ = ["Classifier", "ClassifierError", "load_classifier", "split_rows", "digit_metrics",
           "evaluate_images", "fid", "frechet_distance", "gaussian_stats", "inception_score",
           "evaluate_checkpoint", "evaluate_gan", "format_report", "evaluate_toy",
           "parabola_distance", "train_classifier"]

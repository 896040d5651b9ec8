"""Evaluate a trained GAN or a checkpoint file, and format the result for people."""
import numpy as np

from ..data import TOY_SETS, ToySet, load_dataset
from .metrics import N_FID, evaluate_images
from .toy_metrics import evaluate_toy

IMAGE_FEATURES = 784
_DIGIT_SETS = ("mnist-sample", "mnist")


def evaluate_gan(gan, n=10000, seed=0, dataset=None, digits=None, classifier=None):
    """Generate `n` samples from a GAN and score them.

    Image GANs (784 outputs) are scored by `evaluate_images` against the embedded MNIST test
    split, with min(n, 5000) images per FID set; toy GANs by `evaluate_toy` against `dataset`.

    Parameters
    ----------
    gan : fastgan.gan.GAN
    n : int
        Samples to generate, >= 2.
    seed : int
        Seeds the samples' noise and the FID subsets.
    dataset : str or ToySet, optional
        What the GAN learned. Required for toy GANs (a key of TOY_SETS: a run folder's
        config.json records it under "dataset"); for image GANs None, "mnist" or
        "mnist-sample" (the classifier knows MNIST digits only).
    digits : int or list of int, optional
        Image GANs trained on some digits only: the real reference keeps those digits.
    classifier : Classifier, optional
        The digit classifier that judges an image GAN (`load_classifier(path)` loads one
        saved by `train_classifier`); default the shipped one. Toy GANs take none.

    Returns
    -------
    dict
        JSON-able metrics (see `evaluate_images` and `evaluate_toy`).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n={n!r} must be an int >= 2 (samples to generate)")
    features = gan.config.g_layers[-1]
    if features == IMAGE_FEATURES:
        real = _real_images(dataset, digits)
        return evaluate_images(gan.generate(n, seed=seed), real=real, n=N_FID, seed=seed,
                               classifier=classifier)
    if classifier is not None:
        raise ValueError(f"the GAN makes {features}-d points: a digit classifier judges "
                         f"image GANs only; leave it out")
    toy = _toy_for(dataset, features)
    return evaluate_toy(gan.generate(n, seed=seed), toy)


def evaluate_checkpoint(path, n=10000, seed=0, dataset=None, digits=None, classifier=None):
    """Load a GAN checkpoint (``GAN.load(path)``) and score `n` of its samples.

    Parameters as in `evaluate_gan`; `path` is a checkpoint .npz file. Raises
    ``fastgan.checkpoint.CheckpointError`` (a ValueError) for an unreadable file.
    """
    from ..gan import GAN
    return evaluate_gan(GAN.load(path, verbose=False), n=n, seed=seed, dataset=dataset,
                        digits=digits, classifier=classifier)


def _real_images(dataset, digits):
    if dataset is not None and dataset not in _DIGIT_SETS:
        raise ValueError(f"dataset={dataset!r}: image metrics use an MNIST digit classifier, "
                         f"so they apply to GANs trained on {' or '.join(_DIGIT_SETS)}; "
                         f"for digit images from elsewhere, pass dataset=None (fastgan eval: "
                         f"--dataset mnist-sample)")
    if digits is None:
        return None
    return load_dataset("mnist-sample", digits=digits).scaled()


def _toy_for(dataset, features):
    if dataset is None:
        raise ValueError(f"the GAN makes {features}-d points, so it learned a toy set; "
                         f"name it with dataset= or --dataset (one of {', '.join(TOY_SETS)}; a run "
                         f"folder's config.json records it under \"dataset\")")
    toy = dataset if isinstance(dataset, ToySet) else TOY_SETS.get(dataset)
    if toy is None:
        raise ValueError(f"dataset={dataset!r} is not a toy set; use one of "
                         f"{', '.join(TOY_SETS)}")
    if toy.dim != features:
        raise ValueError(f"dataset={toy.name!r} has {toy.dim}-d points but the GAN makes "
                         f"{features}-d ones; name the set it was trained on")
    return toy


def format_report(metrics):
    """Lines for people from a dict of `evaluate_images`, `evaluate_toy` or `evaluate_gan`."""
    if metrics.get("kind") == "image":
        return _image_report(metrics)
    if "modes" in metrics:
        return "\n".join([
            f"{metrics['dataset']}: {metrics['n']} samples",
            f"modes captured      {metrics['modes_captured']} / {metrics['modes']}",
            f"high quality        {100 * metrics['high_quality_fraction']:.1f}%"
            "  (within 3 std of a mode)",
            "mode share          " + " ".join(f"{s:.2f}" for s in metrics["mode_share"])])
    return "\n".join([
        f"{metrics['dataset']}: {metrics['n']} samples",
        f"distance to curve   mean {metrics['distance_mean']:.4f}  median "
        f"{metrics['distance_median']:.4f}  90% {metrics['distance_q90']:.4f}  99% "
        f"{metrics['distance_q99']:.4f}",
        f"within 0.1          {100 * metrics['near_fraction']:.1f}%",
        f"x range covered     {metrics['x_bins_covered']} / {metrics['x_bins']} bins"])


def _image_report(m):
    kl = "n/a" if m["kl_to_uniform"] is None else f"{m['kl_to_uniform']:.3f}"
    share = " ".join(f"{d}:{100 * s:.0f}%" for d, s in enumerate(m["digit_share"]))
    return "\n".join([
        f"images: {m['n']} samples, FID on {m['n_fid']} per set",
        f"FID                 {m['fid']:.2f}  (real vs real: {m['fid_floor']:.2f})",
        f"Inception Score     {m['inception_score']:.2f} +- {m['inception_score_std']:.2f}"
        f"  (real: {m['inception_score_real']:.2f})",
        f"confident (p>=0.9)  {100 * m['confident_fraction']:.1f}%"
        f"  (real: {100 * m['confident_fraction_real']:.1f}%)",
        f"digits covered      {m['digits_covered']} / 10  (KL to uniform {kl})",
        f"digit share         {share}"])

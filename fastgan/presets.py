"""Named recipes: the tutorials' GANs, and fastgan's own defaults per kind of data.

A preset is a dict of `Config` fields plus the run length (`minutes`, else `epochs`);
explicit options override it. A preset's n_classes means "conditional when the data has
labels": the CLI sets it to the data's class count, or 0 without labels.
"""
PRESETS = {
    # The NumPy tutorial: G 100-128-784, D 784-128-1, SGD 1e-3 with per-epoch decay 1e-4.
    "numpy-tutorial": dict(
        g_layers=[100, 128, 784], d_layers=[784, 128, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.01, optimizer="sgd", learning_rate=1e-3,
        decay_rate=1e-4, batch_size=64, epochs=100, dtype="float64"),
    # The PyTorch MLP GAN: leaky relu 0.2, dropout 0.3 in D, Adam 2e-4, BCE, batch 100.
    "pytorch-tutorial": dict(
        g_layers=[100, 256, 512, 1024, 784], d_layers=[784, 1024, 512, 256, 1],
        g_activation="leaky_relu", d_activation="leaky_relu", alpha=0.2, dropout=0.3,
        optimizer="adam", learning_rate=2e-4, beta1=0.9, beta2=0.999, batch_size=100,
        epochs=200, dtype="float32"),
    # fastgan's default for 28x28 images, chosen by 2-minute trials (README): conditional
    # when the data has labels (samples draw every class in turn), small nets that take
    # many steps, an EMA of G for sampling. Runs 5 minutes unless told otherwise.
    "fastgan": dict(
        g_layers=[100, 256, 784], d_layers=[784, 256, 1], g_activation="leaky_relu",
        d_activation="leaky_relu", alpha=0.2, dropout=0.3, optimizer="adam",
        learning_rate=5e-4, beta1=0.5, beta2=0.999, ema=0.999, n_classes=10, batch_size=64,
        epochs=1000, minutes=5, dtype="float32"),
    # Toy data: small nets, linear output. toy-1d as toy-2d below, chosen by the same trials.
    "toy-1d": dict(
        g_layers=[8, 64, 64, 1], d_layers=[1, 64, 64, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.2, g_output="linear", optimizer="adam",
        learning_rate=1e-3, beta1=0.5, batch_size=128, pack=4, ema=0.999, epochs=100000,
        minutes=1, dtype="float32"),
    # 2-minute trials (README): PacGAN packing of 4 captures every mode of ring8 and
    # grid25, the EMA of G keeps samples on the modes, and a relu G can map whole regions of
    # its noise onto one mode where a leaky one stretches bridges between modes.
    "toy-2d": dict(
        g_layers=[8, 128, 128, 2], d_layers=[2, 128, 128, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.2, g_output="linear", optimizer="adam",
        learning_rate=1e-3, beta1=0.5, batch_size=128, pack=4, ema=0.999, epochs=100000,
        minutes=2, dtype="float32"),
}
# The parabola has no modes to lose, and packing blurred it (half the samples near the curve
# against all of them without); a leaky G kept its samples closer to the curve than a relu
# one. So: toy-2d without packing and with a leaky G, chosen by the same trials.
PRESETS["toy-curve"] = dict(PRESETS["toy-2d"], pack=1, g_activation="leaky_relu")

# The preset a data set gets when the user names none (images: the winner of the 2-minute
# trials on the MNIST sample and on Fashion-MNIST, README "How the presets were chosen").
DATASET_PRESETS = {"mnist-sample": "fastgan", "mnist": "fastgan", "fashion-mnist": "fastgan",
                   "bimodal": "toy-1d", "parabola": "toy-curve", "ring8": "toy-2d",
                   "grid25": "toy-2d"}
DEFAULT_PRESET = "fastgan"


def preset(name):
    """Return a copy of preset `name`'s fields."""
    if name not in PRESETS:
        raise ValueError(f"preset {name!r} is not known; use one of {', '.join(PRESETS)}")
    return {k: list(v) if isinstance(v, list) else v for k, v in PRESETS[name].items()}


def default_preset(dataset_name):
    """The preset for a data set (a name from DATASET_PRESETS, else an image folder/file)."""
    return DATASET_PRESETS.get(dataset_name, DEFAULT_PRESET)

"""Named recipes: the tutorials' GANs, and fastgan's own defaults per kind of data.

A preset is a dict of `Config` fields plus what the run needs besides (RUN_KEYS): its
length in `minutes` (else `epochs`), for a tutorial's toy recipe its data set and the
number of points to draw, and the fields that change when the run ends up without labels
(`unconditional`). Explicit options override it. A preset's n_classes means "conditional
when the data has labels": the CLI sets it to the data's class count, or 0 without labels.
"""
PRESETS = {
    # The NumPy tutorial: G 100-128-784, D 784-128-1, SGD 1e-3 with per-epoch decay 1e-4,
    # gradients summed over the batch as its backward pass does. It trains one digit:
    # fastgan train --preset numpy-tutorial --digits 3.
    "numpy-tutorial": dict(
        g_layers=[100, 128, 784], d_layers=[784, 128, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.01, optimizer="sgd", learning_rate=1e-3,
        decay_rate=1e-4, loss_reduction="sum", weight_init="he", batch_size=64, epochs=100,
        dtype="float64"),
    # The Adam tutorial: a deeper G on uniform noise, Adam at a high rate, then cut 100x.
    "adam-tutorial": dict(
        g_layers=[100, 200, 560, 784], d_layers=[784, 128, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.01, optimizer="adam", learning_rate=1e-3,
        beta1=0.9, noise="uniform", learning_rate_schedule=[[10, 0.01]], batch_size=64,
        epochs=20, dtype="float64"),
    # The PyTorch MLP GAN at its command line's defaults: Adam 1e-4, batch 32, 50 epochs;
    # leaky relu 0.2 and dropout 0.3 in D, BCE.
    "pytorch-tutorial": dict(
        g_layers=[100, 256, 512, 1024, 784], d_layers=[784, 1024, 512, 256, 1],
        g_activation="leaky_relu", d_activation="leaky_relu", alpha=0.2, dropout=0.3,
        optimizer="adam", learning_rate=1e-4, beta1=0.9, beta2=0.999, batch_size=32,
        epochs=50, dtype="float32"),
    # The TensorFlow 2-D toy: 1,000 points on the parabola, G and D with two leaky relu
    # layers of 10, uniform noise, Adam 1e-3, 5,000 epochs.
    "toy-2d-tutorial": dict(
        g_layers=[2, 10, 10, 2], d_layers=[2, 10, 10, 1], g_activation="leaky_relu",
        d_activation="leaky_relu", alpha=0.2, g_output="linear", optimizer="adam",
        learning_rate=1e-3, beta1=0.9, noise="uniform", batch_size=256, epochs=5000,
        dataset="parabola", points=1000, dtype="float32"),
    # The NumPy 1-D toy: G 4-16-16-1 and D 1-16-16-1, relu, sigmoid outputs (G's cannot
    # reach the modes at -2 and 2: docs/tutorials.md), plain steps of 0.005, 400 steps of 64
    # fresh samples (one epoch of 25,600).
    "toy-1d-tutorial": dict(
        g_layers=[4, 16, 16, 1], d_layers=[1, 16, 16, 1], g_activation="relu",
        d_activation="relu", g_output="sigmoid", optimizer="sgd", learning_rate=0.005,
        decay_rate=0.0, batch_size=64, epochs=1, dataset="bimodal", points=25600,
        dtype="float64"),
    # fastgan's default for 28x28 images, chosen by 2-minute trials and sweeps with seeds
    # (docs/presets.md): conditional when the data has labels (samples draw every class in
    # turn), a one-layer D that takes many steps, an EMA of G for sampling. Runs 5 minutes
    # unless told otherwise.
    "fastgan": dict(
        g_layers=[100, 256, 512, 784], d_layers=[784, 256, 1], g_activation="leaky_relu",
        d_activation="leaky_relu", alpha=0.2, dropout=0.3, optimizer="adam",
        learning_rate=5e-4, beta1=0.5, beta2=0.999, ema=0.999, n_classes=10, batch_size=64,
        epochs=1000, minutes=5, dtype="float32",
        # without labels: D judging pairs of samples (PacGAN) at twice the rate, a longer
        # EMA of G, and a one-layer G (the two-layer one lost there), chosen by sweeps with
        # seeds (docs/presets.md, "Images without labels")
        unconditional=dict(pack=2, learning_rate=1e-3, ema=0.9999, g_layers=[100, 256, 784])),
    # Toy data: small nets, linear output. toy-1d as toy-2d below, chosen by the same sweep
    # on the bimodal set (bench/sweeps/toy-1d.toml).
    "toy-1d": dict(
        g_layers=[8, 64, 64, 1], d_layers=[1, 64, 64, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.2, g_output="linear", optimizer="adam",
        learning_rate=1e-3, beta1=0.5, batch_size=128, pack=4, ema=0.999, epochs=100000,
        minutes=1, dtype="float32"),
    # Chosen by a sweep with seeds (bench/sweeps/toy-2d.toml, docs/presets.md): PacGAN
    # packing of 4 captures every mode of ring8 and grid25, the EMA of G keeps samples on the
    # modes, and a relu G can map whole regions of its noise onto one mode where a leaky one
    # stretches bridges between modes.
    "toy-2d": dict(
        g_layers=[8, 128, 128, 2], d_layers=[2, 128, 128, 1], g_activation="relu",
        d_activation="leaky_relu", alpha=0.2, g_output="linear", optimizer="adam",
        learning_rate=1e-3, beta1=0.5, batch_size=128, pack=4, ema=0.999, epochs=100000,
        minutes=2, dtype="float32"),
}
# The parabola has no modes to lose, and packing blurred it (13-81% of the samples near the
# curve against 99.6% and more unpacked with the EMA); a leaky G kept its samples closer to
# the curve than a relu one. So: toy-2d without packing and with a leaky G
# (bench/sweeps/toy-curve.toml).
PRESETS["toy-curve"] = dict(PRESETS["toy-2d"], pack=1, g_activation="leaky_relu")

# The preset a data set gets when the user names none (images: the winner of the 2-minute
# trials on the MNIST sample and on Fashion-MNIST, README "How the presets were chosen").
DATASET_PRESETS = {"mnist-sample": "fastgan", "mnist": "fastgan", "fashion-mnist": "fastgan",
                   "bimodal": "toy-1d", "parabola": "toy-curve", "ring8": "toy-2d",
                   "grid25": "toy-2d"}
DEFAULT_PRESET = "fastgan"


RUN_KEYS = ("minutes", "dataset", "points", "unconditional")


def split_run_keys(fields):
    """Remove and return the preset's RUN_KEYS from `fields`, leaving Config fields."""
    return {k: fields.pop(k) for k in RUN_KEYS if k in fields}


def apply_unconditional(fields, run, explicit):
    """When `fields` train without labels (n_classes 0), set the preset's `unconditional`
    fields (from `run`, its split-off RUN_KEYS) that the user did not give (`explicit`)."""
    if not fields.get("n_classes"):
        fields.update({k: v for k, v in run.get("unconditional", {}).items()
                       if k not in explicit})


def preset(name):
    """Return a copy of preset `name`'s fields."""
    if name not in PRESETS:
        raise ValueError(f"preset {name!r} is not known; use one of {', '.join(PRESETS)}")
    return {k: list(v) if isinstance(v, list) else v for k, v in PRESETS[name].items()}


def default_preset(dataset_name):
    """The preset for a data set (a name from DATASET_PRESETS, else an image folder/file)."""
    return DATASET_PRESETS.get(dataset_name, DEFAULT_PRESET)

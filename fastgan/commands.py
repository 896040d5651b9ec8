"""What the CLI commands do, as plain functions a Python user can call too."""
import os
import shlex

import numpy as np

from .config import Config
from .data import IMAGE_SHAPE, SPECS, class_digits, load_dataset, renumber_classes
from .fileio import atomic_path
from .gan import GAN
from .grid import class_rows
from .presets import apply_unconditional, default_preset, preset, split_run_keys
from .run import CHECKPOINT, CONFIG, RunFolder, read_meta, run_dataset, trained_seconds

# (flag, type, help) of every Config option the CLI sets; the field is the flag's name.
CONFIG_FLAGS = [
    ("--batch-size", int, "minibatch size"),
    ("--learning-rate", float, "learning rate of both nets"),
    ("--g-learning-rate", float, "generator learning rate (default --learning-rate)"),
    ("--d-learning-rate", float, "discriminator learning rate (default --learning-rate)"),
    ("--optimizer", str, "sgd or adam"),
    ("--decay-rate", float, "per-epoch decay: lr <- lr / (1 + decay * epoch) (default: "
     "1e-4 for sgd, 0 for adam)"),
    ("--learning-rate-schedule", "cuts", "multiply the learning rate by F from epoch E on, "
     "e.g. 10:0.01 or 10:0.1,20:0.1"),
    ("--loss-reduction", str, "mean (default) or sum (the NumPy tutorial's gradient scale)"),
    ("--noise", str, "G's input noise: normal (default) or uniform in [-1, 1]"),
    ("--weight-init", str, "auto (He before relu-family layers, else Xavier) or he (all)"),
    ("--beta1", float, "Adam beta1"),
    ("--beta2", float, "Adam beta2"),
    ("--eps", float, "Adam epsilon"),
    ("--g-layers", "ints", "generator sizes, noise first, e.g. 100,256,784"),
    ("--d-layers", "ints", "discriminator sizes, ending in 1, e.g. 784,256,1"),
    ("--activation", str, "hidden activation of both nets: relu, leaky_relu, tanh, sigmoid"),
    ("--g-activation", str, "generator hidden activation"),
    ("--d-activation", str, "discriminator hidden activation"),
    ("--alpha", float, "leaky_relu slope"),
    ("--g-output", str, "tanh (images), linear (points) or sigmoid"),
    ("--loss", str, "non-saturating, minimax, least-squares, hinge, wasserstein"),
    ("--d-steps", int, "discriminator steps per generator step"),
    ("--dropout", float, "dropout rate on D's hidden layers"),
    ("--label-smoothing", float, "one-sided: real target 1 - s (bce and least-squares)"),
    ("--ema", float, "keep an exponential moving average of G's weights for sampling"),
    ("--pack", int, "PacGAN packing: D judges this many samples at once"),
    ("--latent-codes", int, "G also takes a random one-hot code of this many values"),
    ("--instance-noise", float, "std of Gaussian noise added to D's inputs"),
    ("--clip", float, "clip D's weights to [-c, c] (Wasserstein GAN)"),
    ("--backend", str, "numba (default) or numpy"),
    ("--dtype", str, "float32 or float64"),
    ("--seed", int, "seed of weights, noise, shuffling and dropout"),
    ("--threads", int, "cores to use (default all)"),
]
# other spellings the CLI also accepts: shorter ones, and the PyTorch MLP GAN tutorial's
FLAG_ALIASES = {"--learning-rate": ["--lr", "-lr", "--learning_rate"],
                "--g-learning-rate": ["--g-lr"], "--d-learning-rate": ["--d-lr"],
                "--batch-size": ["--batch_size"], "--seed": ["--random_seed"]}


def config_options(options):
    """Map CLI option names (dest form) to Config fields, keeping those that were given."""
    out = {}
    for flag, _, _ in CONFIG_FLAGS:
        dest = flag[2:].replace("-", "_")
        value = options.get(dest)
        if value is None:
            continue
        if dest == "activation":
            out.setdefault("g_activation", value)
            out.setdefault("d_activation", value)
        else:
            out[dest] = value
    return out


class TrainJob:
    """A `fastgan train` run: a RunFolder plus what it needs to report."""

    def __init__(self, folder, epochs, minutes, steps=None):
        self.folder, self.epochs, self.minutes, self.steps = folder, epochs, minutes, steps

    def run(self, progress=True, should_stop=None):
        return self.folder.train(self.epochs, self.minutes, progress, should_stop, self.steps)

    def summary(self, reason):
        out, tr = self.folder.out, self.folder.gan.trainer
        head = {"done": "finished", "time": "time is up", "stopped": "stopped"}[reason]
        text = (f"{head} at epoch {tr.epoch}, step {tr.step}; samples, losses.png and "
                f"checkpoint.npz are in {out}")
        resume = resume_command(out)
        if reason == "time":
            minutes = self.folder.meta.get("minutes") or self.minutes  # the run's length
            text += f"\ntrain on with: {resume} --minutes {minutes:.3g}"
        elif reason != "done":
            text += f"\nresume with: {resume}"
        return text


def resume_command(out):
    """The command that resumes the run in folder `out`, quoted for a shell."""
    return f"fastgan train --out {shlex.quote(os.fspath(out))} --resume"


def prepare_train(options):
    """Build the TrainJob the `train` command's options describe (a dict, CLI dest names)."""
    out = options.get("out") or "fastgan-run"
    if options.get("resume"):
        return _resume_job(out, options)
    if os.path.exists(os.path.join(out, CHECKPOINT)):
        raise ValueError(f"{out} already holds a run (checkpoint.npz); add --resume to "
                         f"continue it or choose another --out")
    _check_new_out(out)
    _check_length(options)
    name = options.get("preset") or default_preset(options.get("dataset") or "mnist-sample")
    fields = preset(name)
    run = split_run_keys(fields)
    spec = options.get("dataset") or run.get("dataset") or "mnist-sample"
    dataset = _load_run_data(spec, options.get("digits"), options.get("seed") or 0,
                             run.get("points", 10000))
    explicit = config_options(options)
    fields.update(explicit)
    if options.get("conditional"):
        if dataset.y is None:
            raise ValueError(f"--conditional needs labels, and {spec} has none")
        fields["n_classes"] = _class_count(dataset)
    elif options.get("unconditional"):
        fields["n_classes"] = 0
    elif fields.get("n_classes"):
        # a conditional preset fits the data's classes, or trains unconditionally without labels
        fields["n_classes"] = 0 if dataset.y is None else _class_count(dataset)
    apply_unconditional(fields, run, explicit)
    # run length: --epochs, --steps or --minutes, else the preset's own (minutes or epochs)
    epochs, minutes, steps = (options.get(k) for k in ("epochs", "minutes", "steps"))
    if epochs is None and minutes is None and steps is None:
        minutes = run.get("minutes")
    epochs = fields["epochs"] if epochs is None else epochs
    fields["epochs"] = epochs
    config = Config.from_dict(fields)
    _check_fits(config, dataset)
    gan = GAN.from_config(config)
    if os.path.exists(spec) and spec not in SPECS:  # a file or folder: resumable from anywhere
        spec = os.path.abspath(spec)
    meta = {"dataset": spec, "digits": options.get("digits"), "preset": name,
            "epochs": epochs, "minutes": minutes, "steps": steps, "points": len(dataset.x)}
    folder = RunFolder(gan, dataset, out, meta, **_folder_options(options, dataset, meta))
    return TrainJob(folder, _epoch_limit(epochs, minutes, steps), minutes, steps)


def _load_run_data(spec, digits, seed, n_points):
    """A run's data set; with `digits`, its labels numbered from 0 in their order."""
    dataset = load_dataset(spec, digits=digits, seed=seed, n_points=n_points)
    return dataset if digits is None else renumber_classes(dataset, digits)


def _epoch_limit(epochs, minutes, steps):
    """--minutes and --steps end a run on their own; --epochs when neither is given."""
    return epochs if minutes is None and steps is None else 10**9


def _class_count(dataset):
    """The classes a conditional GAN of `dataset` has: its labels must count them from 0."""
    if dataset.class_names:
        return len(dataset.class_names)
    count, present = int(dataset.y.max()) + 1, np.unique(dataset.y)
    if len(present) < count:
        raise ValueError(f"{dataset.name}'s labels number {len(present)} classes from 0 to "
                         f"{count - 1}, with gaps: a conditional GAN would have {count} "
                         f"classes. Number them 0..{len(present) - 1} (np.unique(y, "
                         f"return_inverse=True)[1]) or train with --unconditional")
    return count


def _folder_options(options, dataset, meta):
    """RunFolder options from the CLI: checkpoint spacing and periodic evaluation."""
    out = {}
    seconds = options.get("checkpoint_seconds")
    if seconds is not None:
        if not seconds >= 0:
            raise ValueError(f"--checkpoint-seconds {seconds} must be 0 or more")
        out["checkpoint_seconds"] = seconds
    return {**out, **_eval_options(options, dataset, meta)}


def _eval_options(options, dataset, meta):
    every, n = options.get("eval_every"), options.get("eval_n")
    if n is not None and every is None:
        raise ValueError("--eval-n sets how many samples --eval-every scores: add --eval-every K")
    if every is None:
        return {}
    if every < 1:
        raise ValueError(f"--eval-every {every} must be at least 1 (epochs)")
    if n is not None and n < 2:
        raise ValueError(f"--eval-n {n} must be at least 2 (samples)")
    if dataset.kind == "image" and dataset.name not in ("mnist-sample", "mnist"):
        raise ValueError(f"--eval-every scores digits with an MNIST classifier; it can't "
                         f"judge {dataset.name}")
    from .evaluation import evaluate_gan
    n = n or 2000

    def evaluator(gan):
        return evaluate_gan(gan, n=n, seed=0, dataset=meta.get("dataset"),
                            digits=meta.get("digits"))
    return {"evaluator": evaluator, "eval_every": every}


def _resume_job(out, options):
    # --threads changes no result (kernels.dense.blocks), so a resumed run may take it
    given = {k: v for k, v in config_options(options).items() if k != "threads"}
    given.update({k: options.get(k) for k in ("preset", "dataset", "digits")})
    given.update({k: options.get(k) or None for k in ("conditional", "unconditional")})
    changed = sorted(k for k, v in given.items() if v is not None)
    if changed:
        raise ValueError("--resume continues the run as it was configured; drop the other "
                         f"options ({', '.join(changed)}) or start a new run in another --out")
    _check_length(options)
    path = os.path.join(out, CHECKPOINT)
    if not os.path.exists(path):
        raise ValueError(f"nothing to resume: {path} does not exist")
    meta = read_meta(out)
    threads = options.get("threads")
    gan = GAN.load(path) if threads is None else GAN.load(path, threads=threads)
    dataset = _load_run_data(meta["dataset"], meta.get("digits"), gan.config.seed,
                             meta.get("points") or 10000)
    _check_fits(gan.config, dataset)
    C = gan.config.n_classes
    if C and dataset.y is not None and C != (count := _class_count(dataset)):
        raise ValueError(f"{out} holds a GAN of {C} classes, but its data now has {count} "
                         f"(fastgan numbers the classes of --digits from 0); start a new run "
                         f"in another --out")
    epochs = options.get("epochs") or meta.get("epochs") or gan.config.epochs
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"{out}/config.json records epochs={epochs!r}; pass --epochs N")
    minutes = _minutes_left(out, gan, meta, options)
    steps = options.get("steps") or (meta.get("steps") if minutes is None else None)
    meta = {**meta, "epochs": epochs, "steps": steps}
    if minutes is not None:  # the budget a later plain --resume goes on with
        meta["minutes"] = round(trained_seconds(gan) / 60 + minutes, 4)
    folder = RunFolder(gan, dataset, out, meta, **_folder_options(options, dataset, meta))
    return TrainJob(folder, _epoch_limit(epochs, minutes, steps), minutes, steps)


# what a run writes before its first checkpoint (a sweep's trial adds trial.json)
_RUN_FILES = {CONFIG, "metrics.jsonl", "samples", "losses.png", "losses_histogram.png",
              "samples.gif", "trial.json"}


def _check_new_out(out):
    """Refuse an --out that holds files a run did not write (a user's own config.json would
    be overwritten); a run's own files from an attempt without a checkpoint are replaced."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out {out} is a file; name a folder for the run")
    if not os.path.isdir(out):
        return
    others = sorted(set(os.listdir(out)) - _RUN_FILES)
    if not others and os.path.exists(os.path.join(out, CONFIG)):
        try:
            read_meta(out)
        except ValueError:
            others = [CONFIG]
    if others:
        raise ValueError(f"--out {out} already holds files a run did not write "
                         f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''}); "
                         f"choose a new or empty folder for the run")


def _minutes_left(out, gan, meta, options):
    """A resumed run's time budget: --minutes when given; else, with no --epochs or --steps,
    what is left of the run's own minutes (None for a run of epochs or steps)."""
    if options.get("minutes") is not None:
        return options["minutes"]
    if options.get("epochs") is not None or options.get("steps") is not None \
            or not meta.get("minutes"):
        return None
    left = meta["minutes"] - trained_seconds(gan) / 60
    if left <= 0:
        raise ValueError(f"{out} has trained its {meta['minutes']:g} minutes; to train on, "
                         f"add --minutes M (or --epochs N, --steps N) to --resume")
    return left


def _check_length(options):
    minutes = options.get("minutes")
    for flag in ("epochs", "steps"):
        if options.get(flag) is not None and options[flag] < 1:
            raise ValueError(f"--{flag} {options[flag]} must be at least 1")
    if minutes is not None and not minutes > 0:
        raise ValueError(f"--minutes {minutes} must be more than 0")


def _check_fits(config, dataset):
    features = dataset.x.shape[1]
    if config.g_layers[-1] != features or config.d_layers[0] != features:
        raise ValueError(f"the data has {features} features but g_layers ends in "
                         f"{config.g_layers[-1]} and d_layers starts with {config.d_layers[0]}; "
                         f"make both {features} (or use the data set's default preset)")
    if dataset.kind == "image" and config.g_output != "tanh":
        raise ValueError("images are scaled to [-1, 1]: use --g-output tanh")
    per_step = config.batch_size * config.d_steps
    if len(dataset.x) < per_step:  # checked before the run folder is written
        raise ValueError(f"the data has {len(dataset.x)} samples, fewer than a step takes "
                         f"(--batch-size {config.batch_size} x --d-steps {config.d_steps}); "
                         f"lower them or give more data")


def sample(checkpoint, n, out, seed=None, label=None):
    """Write n samples of a checkpoint's generator to `out` (.npy array or .png grid).

    `label` picks the class of a conditional GAN (a digit of its run's --digits, which number
    its classes); without it a conditional grid has one row per class.
    """
    suffix = os.path.splitext(out)[1].lower()
    if suffix not in (".npy", ".png"):
        raise ValueError(f"--out {out!r} must end in .npy (array) or .png (picture)")
    checkpoint = checkpoint_file(checkpoint)
    gan = GAN.load(checkpoint)
    C = gan.config.n_classes
    if label is not None and C == 0:
        raise ValueError(f"{checkpoint} is not a conditional GAN; drop --digit")
    digits = run_dataset(checkpoint)[1] if C else None
    digits = None if digits is None else class_digits(digits)
    names = [str(d) for d in digits] if digits else [str(c) for c in range(C)]
    if label is not None and digits:
        if label not in digits:
            raise ValueError(f"{checkpoint}'s GAN learned digits {', '.join(names)}; --digit "
                             f"{label} is not one of them")
        label = digits.index(label)
    rows = C and label is None
    labels = class_rows(C, n) if rows else label
    x = gan.generate(n, labels=labels, seed=seed)
    if suffix == ".npy":
        with atomic_path(out) as tmp, open(tmp, "wb") as f:
            np.save(f, x)  # a file, not a name: np.save would add ".npy" to "x.NPY"
        return out
    from .plots import save_image_grid, save_toy_plot
    if x.shape[1] == np.prod(IMAGE_SHAPE) and gan.config.g_output == "tanh":
        if rows:
            per_row = -(-n // C)
            x = _pad_rows(x, labels, C, per_row)
            save_image_grid(x, out, IMAGE_SHAPE, ncols=per_row, row_labels=names)
        else:
            save_image_grid(x, out, IMAGE_SHAPE)
    else:
        save_toy_plot(x, None, out)
    return out


def checkpoint_file(path):
    """`path`, or the checkpoint of the run folder `path`."""
    if not os.path.isdir(path):
        return path
    found = os.path.join(path, CHECKPOINT)
    if not os.path.isfile(found):
        raise ValueError(f"{path} is a folder without {CHECKPOINT}: name a checkpoint file "
                         f"or a run folder that `fastgan train --out` wrote")
    return found


def _pad_rows(x, labels, classes, per_row):
    """Lay samples out one row per class, blank (-1) where a row runs short."""
    grid = -np.ones((classes * per_row, x.shape[1]), x.dtype)
    for c in range(classes):
        rows = x[labels == c]
        grid[c * per_row:c * per_row + len(rows)] = rows
    return grid


def evaluate(checkpoint, n=10000, seed=0, dataset=None, digits=None, classifier=None):
    """Metrics of a checkpoint's samples; the data set comes from its run folder when known.
    `classifier`: a weights file of `retrain_classifier` to judge digits by (default the
    shipped one)."""
    from .evaluation import evaluate_checkpoint, load_classifier
    checkpoint = checkpoint_file(checkpoint)
    if classifier is not None:  # a bad file fails before any sampling
        classifier = load_classifier(classifier)
    if dataset is None:
        dataset, run_digits = run_dataset(checkpoint)
        digits = digits or run_digits
    return evaluate_checkpoint(checkpoint, n=n, seed=seed, dataset=dataset, digits=digits,
                               classifier=classifier)


def retrain_classifier(out_path, epochs=None, seed=0, progress=None):
    """Retrain the evaluation classifier on the embedded data; return its report."""
    from .evaluation import train_classifier
    if os.path.splitext(out_path)[1].lower() != ".npz":  # before minutes of training
        raise ValueError(f"--out {out_path!r} must end in .npz (the classifier's weights)")
    options = {} if epochs is None else {"epochs": epochs}
    return train_classifier(out_path=out_path, seed=seed, progress=progress, **options)

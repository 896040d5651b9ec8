"""The `fastgan` command: run folders, presets, sampling, one-line errors, Ctrl-C, divergence."""
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastgan.commands
from fastgan import GAN
from fastgan.checkpoint import CheckpointError
from fastgan.cli import build_parser, main
from fastgan.data import Dataset, load_dataset
from fastgan.grid import class_rows
from fastgan.run import read_meta

PNG = b"\x89PNG\r\n\x1a\n"
TINY_NET = ["--backend", "numpy", "--g-layers", "4,8,784", "--d-layers", "784,8,1",
            "--batch-size", "32", "--no-progress"]
STEPS = 200 // 32  # steps per epoch of the tiny data set with TINY_NET


def run_cli(argv, capsys):
    """main(argv) in-process: (exit code, stdout, stderr); argparse's exits included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def run_subprocess(argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "fastgan.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(code, err, usage=False):
    assert "Traceback" not in err
    if usage:
        assert code == 2
        assert err.startswith("usage: fastgan")
        assert err.rstrip("\n").splitlines()[-1].startswith("fastgan")
    else:
        assert code == 1
        lines = err.rstrip("\n").splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("fastgan: error: ")


@pytest.fixture(scope="module")
def run(images, tmp_path_factory):
    """A finished two-epoch run folder of the tiny net on the tiny data set."""
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--dataset", str(images), *TINY_NET, "--epochs", "2",
                 "--out", str(out)]) == 0
    return out


def read_config(out):
    return json.loads((out / "config.json").read_text())


def read_steps(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


# --- train --------------------------------------------------------------------------------
def test_train_writes_a_run_folder(run, images):
    names = set(os.listdir(run))
    assert {"config.json", "metrics.jsonl", "samples", "samples.gif", "losses.png",
            "checkpoint.npz"} <= names
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"

    meta = read_config(run)
    assert meta["dataset"] == str(images) and meta["epochs"] == 2
    assert meta["config"]["g_layers"] == [4, 8, 784] and meta["config"]["batch_size"] == 32

    records = read_steps(run)
    assert [r["step"] for r in records] == list(range(1, 2 * STEPS + 1))
    assert [r["epoch"] for r in records] == [0] * STEPS + [1] * STEPS
    assert all(np.isfinite([r["d_loss"], r["g_loss"], r["images_per_s"]]).all()
               for r in records)

    frames = sorted(os.listdir(run / "samples"))
    assert frames and all(f.endswith(".png") for f in frames)
    assert (run / "samples" / frames[-1]).read_bytes()[:8] == PNG
    assert (run / "losses.png").read_bytes()[:8] == PNG
    assert (run / "samples.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")

    gan = GAN.load(run / "checkpoint.npz")
    data = load_dataset(str(images))
    assert gan.config.n_classes == 5  # the default preset is conditional on labelled data
    gan.fit(data.x, data.y)  # restores the position; trains nothing
    assert gan.trainer.step == 2 * STEPS
    np.testing.assert_allclose(gan.history["d_loss"], [r["d_loss"] for r in records], atol=1e-6)


def test_numpy_tutorial_preset(images, tmp_path, capsys):
    code, out, err = run_cli(["train", "--dataset", images, "--preset", "numpy-tutorial",
                              "--backend", "numpy", "--epochs", "1", "--no-progress",
                              "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    meta = read_config(tmp_path / "r")
    assert meta["preset"] == "numpy-tutorial"
    c = meta["config"]
    assert (c["g_layers"], c["d_layers"]) == ([100, 128, 784], [784, 128, 1])
    assert (c["g_activation"], c["d_activation"], c["alpha"]) == ("relu", "leaky_relu", 0.01)
    assert (c["optimizer"], c["learning_rate"], c["decay_rate"]) == ("sgd", 1e-3, 1e-4)
    assert (c["batch_size"], c["dtype"], c["dropout"], c["epochs"]) == (64, "float64", 0.0, 1)
    assert "finished at epoch 1, step 3" in out


def test_explicit_flags_override_the_preset(images, tmp_path, capsys):
    code, _, err = run_cli(["train", "--dataset", images, "--preset", "pytorch-tutorial",
                            "--lr", "0.001", "--backend", "numpy", "--epochs", "1",
                            "--no-progress", "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    c = read_config(tmp_path / "r")["config"]
    assert c["learning_rate"] == 0.001
    assert c["g_layers"] == [100, 256, 512, 1024, 784]
    assert c["d_layers"] == [784, 1024, 512, 256, 1]
    assert (c["optimizer"], c["dropout"], c["batch_size"], c["alpha"]) == ("adam", 0.3, 32, 0.2)


def train_toy_epoch(dataset, out, capsys):
    """One epoch of batch 1000 on a toy set with its default preset; return config.json."""
    code, _, err = run_cli(["train", "--dataset", dataset, "--epochs", "1", "--backend",
                            "numpy", "--batch-size", "1000", "--no-progress", "--out", out],
                           capsys)
    assert code == 0, err
    return read_config(out)


def test_parabola_gets_the_unpacked_toy_preset(tmp_path, capsys):
    meta = train_toy_epoch("parabola", tmp_path / "curve", capsys)
    assert meta["preset"] == "toy-curve"
    assert meta["config"]["pack"] == 1 and meta["config"]["ema"] == 0.999
    assert meta["config"]["g_activation"] == "leaky_relu"


def test_toy_dataset_with_its_preset(tmp_path, capsys):
    out = tmp_path / "ring"
    meta = train_toy_epoch("ring8", out, capsys)
    assert meta["preset"] == "toy-2d"
    assert meta["config"]["g_layers"][-1] == 2 and meta["config"]["g_output"] == "linear"
    assert meta["config"]["g_activation"] == "relu" and meta["config"]["pack"] == 4
    assert meta["config"]["batch_size"] == 1000 and meta["config"]["optimizer"] == "adam"
    assert len(read_steps(out)) == 10000 // 1000
    assert (out / "losses.png").read_bytes()[:8] == PNG
    code, _, err = run_cli(["sample", out / "checkpoint.npz", "--n", "50", "--out",
                            tmp_path / "toy.npy"], capsys)
    assert code == 0, err
    assert np.load(tmp_path / "toy.npy").shape == (50, 2)


# --- sample -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["x.npy", "X.NPY"])
def test_sample_to_npy(run, tmp_path, capsys, name):
    code, out, err = run_cli(["sample", run / "checkpoint.npz", "--n", "16", "--out",
                              tmp_path / name], capsys)
    assert code == 0, err
    x = np.load(tmp_path / name)
    assert x.shape == (16, 784) and np.all(np.abs(x) <= 1)
    assert f"wrote {tmp_path / name}" in out
    assert os.listdir(tmp_path) == [name]


def test_sample_with_seed_is_reproducible(run, tmp_path, capsys):
    for name in ("a.npy", "b.npy"):
        assert run_cli(["sample", run / "checkpoint.npz", "--n", "4", "--seed", "3", "--out",
                        tmp_path / name], capsys)[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_sample_to_png(run, tmp_path, capsys):
    code, _, err = run_cli(["sample", run / "checkpoint.npz", "--n", "16", "--out",
                            tmp_path / "grid.png"], capsys)
    assert code == 0, err
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG


def test_sample_draws_points_of_a_tanh_toy_gan_as_a_plot(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert run_cli(["train", "--dataset", "bimodal", "--g-output", "tanh", "--steps", "2",
                    "--no-progress", "--out", out], capsys)[0] == 0
    drawn = []
    monkeypatch.setattr("fastgan.plots.save_toy_plot", lambda x, toy, path: drawn.append(x))
    monkeypatch.setattr("fastgan.plots.save_image_grid", lambda *a, **k: drawn.append(None))
    assert run_cli(["sample", out, "--out", tmp_path / "p.png"], capsys)[0] == 0
    assert len(drawn) == 1 and drawn[0].shape == (100, 1)  # not a grid of 1-pixel images


def test_class_rows_give_every_class_a_row():
    labels = class_rows(10, 15)
    assert np.bincount(labels).tolist() == [2] * 5 + [1] * 5
    assert (np.diff(labels) >= 0).all()
    np.testing.assert_array_equal(class_rows(10, 100), np.repeat(np.arange(10), 10))


# --- errors -------------------------------------------------------------------------------
def _error_cases(run, images, tmp):
    """(argv, usage error?, text in the message) of every error case."""
    garbage = tmp / "garbage.npz"
    garbage.write_bytes(b"this is not a checkpoint")
    new = tmp / "new"
    data = ["train", "--dataset", images, *TINY_NET, "--out", new]
    return {
        "unknown dataset": (["train", "--dataset", "mnist-small", "--out", new], False,
                            "mnist-small"),
        "bad digits": (["train", "--digits", "three", "--out", new], True, "three"),
        "epochs and minutes": (["train", "--epochs", "1", "--minutes", "1", "--out", new], True,
                               "--minutes"),
        "absent digit": ([*data, "--digits", "7"], False, "[7]"),
        "unknown preset": ([*data, "--preset", "keras"], False, "keras"),
        "unknown optimizer": ([*data, "--optimizer", "rmsprop"], False, "rmsprop"),
        "layers do not fit the data": ([*data, "--g-layers", "4,8,16"], False, "784 features"),
        "resume without checkpoint": (["train", "--out", new, "--resume"], False,
                                      "nothing to resume"),
        "out holds a run": (["train", "--dataset", images, "--out", run], False,
                            "already holds a run"),
        "corrupt checkpoint": (["sample", garbage, "--out", tmp / "x.npy"], False,
                               str(garbage)),
        "missing checkpoint": (["sample", tmp / "none.npz", "--out", tmp / "x.npy"], False,
                               "no such checkpoint"),
        "bad out suffix": (["sample", run / "checkpoint.npz", "--out", tmp / "x.jpg"], False,
                           ".npy"),
        "n zero": (["sample", run / "checkpoint.npz", "--n", "0", "--out", tmp / "x.npy"],
                   False, "n=0"),
        "out holds other files": (["train", "--dataset", images, "--out", tmp], False,
                                  "holds files a run did not write (garbage.npz)"),
        "data short of a step": ([*data, "--batch-size", "500", "--steps", "5"], False,
                                 "the data has 200 samples, fewer than a step takes"),
        "eval-n alone": ([*data, "--eval-n", "100"], False, "add --eval-every"),
        "eval-n too small": ([*data, "--eval-every", "1", "--eval-n", "1"], False,
                             "--eval-n 1 must be at least 2"),
    }


ERRORS = ["unknown dataset", "bad digits", "epochs and minutes", "absent digit",
          "unknown preset", "unknown optimizer", "layers do not fit the data",
          "resume without checkpoint", "out holds a run", "corrupt checkpoint",
          "missing checkpoint", "bad out suffix", "n zero", "data short of a step",
          "eval-n alone", "eval-n too small", "out holds other files"]


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_line(run, images, tmp_path, capsys, case):
    before = sorted(os.listdir(run))
    argv, usage, text = _error_cases(run, images, tmp_path)[case]
    code, out, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, usage)
    assert text in err
    assert not (tmp_path / "new").exists()
    assert not (tmp_path / "x.npy").exists()
    assert sorted(os.listdir(run)) == before


def test_debug_shows_the_traceback(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError):
        main(["--debug", "sample", str(garbage), "--out", str(tmp_path / "x.npy")])


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_debug_also_follows_the_command(tmp_path, command):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a checkpoint")
    argv = [command, str(garbage), *(["--out", str(tmp_path / "x.npy")] if command == "sample"
                                     else [])]
    with pytest.raises(CheckpointError):
        main([*argv, "--debug"])
    assert build_parser().parse_args(argv).debug is False


@pytest.mark.parametrize("debug", [False, True])
def test_errors_end_to_end(tmp_path, debug):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a checkpoint")
    result = run_subprocess([*(["--debug"] if debug else []), "sample", garbage,
                             "--out", tmp_path / "x.npy"])
    if debug:
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "CheckpointError" in result.stderr
    else:
        assert_one_line_error(result.returncode, result.stderr)
        assert str(garbage) in result.stderr


def test_console_script_returns_mains_code_and_skips_the_last_collection(tmp_path):
    # in a child process: run() freezes the collector, which this process must not
    script = ("import gc, sys; from fastgan import cli; "
              "sys.argv = ['fastgan', 'sample', sys.argv[1], '--out', sys.argv[2]]; "
              "code = cli.run(); print(code, gc.get_freeze_count() > 0)")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "missing.npz"),
                             str(tmp_path / "x.npy")], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["1", "True"], result.stderr
    assert_one_line_error(1, result.stderr)
    scripts = importlib.metadata.entry_points(group="console_scripts", name="fastgan")
    assert [s.value for s in scripts] == ["fastgan.entry:run"]


def test_console_script_refuses_an_unknown_fastgan_blas_in_one_line():
    script = ("import sys; from fastgan.entry import run; "
              "sys.argv = ['fastgan', 'train', '--minutes', '0.01']; sys.exit(run())")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, FASTGAN_BLAS="openblas"))
    assert_one_line_error(result.returncode, result.stderr)
    assert "FASTGAN_BLAS='openblas'" in result.stderr and "mkl, numpy, scipy" in result.stderr


def test_importing_fastgan_loads_no_heavy_library():
    """`import fastgan` stays light, so the console script's Ctrl-C handling is in place
    before NumPy, Numba and matplotlib load; fastgan.GAN still loads on first use."""
    script = ("import sys, fastgan; heavy = ('numpy', 'numba', 'matplotlib'); "
              "print(*[m in sys.modules for m in heavy]); fastgan.GAN; fastgan.datasets; "
              "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["False", "False", "False", "True"], result.stderr


def test_ctrl_c_while_the_command_loads_ends_quietly():
    """SIGINT once NumPy has loaded, while the CLI's other libraries are still loading:
    one line and exit 130, no traceback. (-X importtime reports each import as it ends.)"""
    script = "import sys; from fastgan.entry import run; sys.exit(run())"
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-c", script, "--help"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.split("|")[-1].strip() == "numpy":
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, "".join(lines) + rest
    assert rest.strip().splitlines()[-1] == "fastgan: interrupted"
    assert "Traceback" not in rest


def test_usage_error_end_to_end(tmp_path):
    result = run_subprocess(["train", "--epochs", "1", "--minutes", "1", "--out", tmp_path])
    assert_one_line_error(result.returncode, result.stderr, usage=True)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("option, value", [("epochs", 0), ("minutes", 0), ("minutes", -1.0)])
def test_train_rejects_a_non_positive_run_length(images, tmp_path, option, value):
    with pytest.raises(ValueError, match=option):
        fastgan.commands.prepare_train({"dataset": str(images), "out": str(tmp_path / "r"),
                                        option: value})


@pytest.mark.parametrize("text", ["{}", "[1, 2]"])
def test_a_foreign_config_json_is_named(run, tmp_path, capsys, text):
    (tmp_path / "checkpoint.npz").write_bytes((run / "checkpoint.npz").read_bytes())
    (tmp_path / "config.json").write_text(text)
    for argv in (["eval", tmp_path], ["train", "--out", tmp_path, "--resume"]):
        code, _, err = run_cli(argv, capsys)
        assert_one_line_error(code, err)
        assert "is not a fastgan run's config.json" in err


def test_a_second_ctrl_c_names_the_checkpoint_kept(run, capsys, monkeypatch):
    def interrupted(options):
        raise KeyboardInterrupt
    monkeypatch.setattr(fastgan.commands, "prepare_train", interrupted)
    code, _, err = run_cli(["train", "--out", run, "--resume"], capsys)
    assert code == 130 and "Traceback" not in err
    assert f"interrupted; {run} keeps its last checkpoint: resume with fastgan train" in err


def test_warnings_print_as_one_line_without_source(tmp_path, capsys):
    code, _, err = run_cli(["train", "--dataset", "bimodal", "--g-output", "tanh", "--steps",
                            "2", "--no-progress", "--out", tmp_path / "run"], capsys)
    assert code == 0
    assert "fastgan: warning: X lies in" in err and ".py:" not in err


# --- digits ---------------------------------------------------------------------------------
def test_a_conditional_run_on_some_digits_has_a_class_per_digit(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", "--dataset", "mnist-sample", "--digits", "5,3", "--conditional",
                    *TINY_NET, "--epochs", "1", "--out", out], capsys)[0] == 0
    assert GAN.load(out / "checkpoint.npz").config.n_classes == 2
    code, _, err = run_cli(["sample", out, "--digit", "7", "--out", tmp_path / "7.npy"], capsys)
    assert_one_line_error(code, err)
    assert "learned digits 5, 3; --digit 7 is not one of them" in err
    for digit in (5, 3):
        assert run_cli(["sample", out, "--digit", digit, "--n", "3", "--seed", "1", "--out",
                        tmp_path / f"{digit}.npy"], capsys)[0] == 0
    gan = GAN.load(out / "checkpoint.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "3.npy"),
                                  gan.generate(3, labels=1, seed=1))


@pytest.mark.parametrize("labels, ok", [(np.arange(150), True), (np.arange(150) * 1000, False)])
def test_labels_must_count_classes_from_0_and_many_classes_draw(tmp_path, capsys, labels, ok):
    data = tmp_path / "many.npz"
    x = np.random.default_rng(0).integers(0, 256, (150, 784), dtype=np.uint8)
    np.savez(data, x=x, y=labels)
    code, _, err = run_cli(["train", "--dataset", data, *TINY_NET, "--steps", "2", "--out",
                            tmp_path / "run"], capsys)
    if ok:  # a grid row per class: 150 rows of one image
        assert code == 0, err
        assert GAN.load(tmp_path / "run" / "checkpoint.npz").config.n_classes == 150
        assert list((tmp_path / "run" / "samples").glob("*.png"))
    else:
        assert_one_line_error(code, err)
        assert "with gaps: a conditional GAN would have 149001 classes" in err


# --- timed runs resumed -------------------------------------------------------------------
def test_a_timed_run_resumed_goes_on_for_its_time_left(images, tmp_path, capsys):
    out = tmp_path / "timed run"
    code, stdout, _ = run_cli(["train", "--dataset", images, *TINY_NET, "--minutes", "0.01",
                               "--out", out], capsys)
    assert code == 0
    assert f"train on with: fastgan train --out '{out}' --resume --minutes 0.01" in stdout
    trained = GAN.load(out / "checkpoint.npz").extra_state["trained_seconds"]
    assert 0.6 <= trained < 30
    code, _, err = run_cli(["train", "--out", out, "--resume"], capsys)
    assert_one_line_error(code, err)
    assert "has trained its 0.01 minutes" in err and "add --minutes M" in err
    steps = len(GAN.load(out / "checkpoint.npz").history["d_loss"])
    assert run_cli(["train", "--out", out, "--resume", "--minutes", "0.01"], capsys)[0] == 0
    again = GAN.load(out / "checkpoint.npz")
    assert len(again.history["d_loss"]) > steps
    assert again.extra_state["trained_seconds"] > trained + 0.5


def test_a_stopped_timed_run_resumes_with_the_minutes_it_has_left(run, monkeypatch):
    meta = {**read_meta(run), "minutes": 2.0, "steps": None}
    monkeypatch.setattr(fastgan.commands, "read_meta", lambda out: meta)
    gan = GAN.load(os.path.join(run, "checkpoint.npz"))
    gan.extra_state["trained_seconds"] = 30.0
    monkeypatch.setattr(fastgan.commands.GAN, "load", classmethod(lambda cls, path: gan))
    job = fastgan.commands.prepare_train({"out": str(run), "resume": True})
    assert job.minutes == pytest.approx(1.5)
    assert job.steps is None


# --- Ctrl-C and divergence ------------------------------------------------------------------
def test_ctrl_c_checkpoints_and_exits_130(images, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastgan.cli", "train", "--dataset", str(images), *TINY_NET,
         "--epochs", "100000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (out / "checkpoint.npz").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 90 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "stopping after this step" in stderr
    assert f"resume with: fastgan train --out {out} --resume" in stdout
    with np.load(out / "checkpoint.npz") as z:
        steps = len(z["d_loss"])
    GAN.load(out / "checkpoint.npz")
    assert [r["step"] for r in read_steps(out)] == list(range(1, steps + 1))
    assert steps >= STEPS


def test_divergence_stops_and_keeps_the_last_good_checkpoint(images, tmp_path, capsys,
                                                             monkeypatch):
    out = tmp_path / "run"
    assert run_cli(["train", "--dataset", images, *TINY_NET, "--epochs", "1", "--out", out],
                   capsys)[0] == 0
    good = (out / "checkpoint.npz").read_bytes()
    real_load = fastgan.commands.load_dataset

    def huge(*args, **kwargs):  # same shape, float32 values that overflow D's first layer
        d = real_load(*args, **kwargs)
        return Dataset(d.name, d.x * 1e36, d.y, d.kind, d.image_shape, d.class_names)

    monkeypatch.setattr(fastgan.commands, "load_dataset", huge)
    with np.errstate(all="ignore"):
        code, _, err = run_cli(["train", "--out", out, "--resume", "--epochs", "3",
                                "--no-progress"], capsys)
    warned, err = err.split("\n", 1)  # the data beyond G's reach is named first
    assert warned.startswith("fastgan: warning: X lies in")
    assert_one_line_error(code, err)
    assert f"at step {STEPS + 1};" in err and "train again from the start" in err
    assert (out / "checkpoint.npz").read_bytes() == good
    GAN.load(out / "checkpoint.npz")
    with np.load(out / "checkpoint.npz") as z:
        assert z["d_loss"].shape == (STEPS,)


def test_divergence_end_to_end_is_one_line(images, tmp_path):
    result = run_subprocess(["train", "--dataset", images, *TINY_NET, "--optimizer", "sgd",
                             "--lr", "1e300", "--epochs", "2", "--out", tmp_path / "r"])
    assert "at step" in result.stderr
    assert_one_line_error(result.returncode, result.stderr)


def test_sigkill_at_any_moment_leaves_a_loadable_checkpoint(images, tmp_path):
    """Kill -9 a training run at several moments; the checkpoint left is always whole."""
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "fastgan.cli", "train", "--dataset", str(images), *TINY_NET,
           "--epochs", "100000", "--checkpoint-seconds", "0", "--out", str(out),
           "--backend", "numpy", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ckpt = out / "checkpoint.npz"
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ckpt.exists(), "no checkpoint appeared"
        for delay in (0.013, 0.031, 0.057, 0.11):
            time.sleep(delay)
            GAN.load(ckpt)  # loads while checkpoints keep being replaced
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert GAN.load(ckpt).history["d_loss"]  # the last whole checkpoint, mid-run


@pytest.mark.parametrize("flags, expected", [
    (["--learning-rate", "0.01"], {"learning_rate": 0.01}),
    (["--lr", "0.01"], {"learning_rate": 0.01}),
    (["--g-learning-rate", "0.02", "--d-lr", "0.03"],
     {"g_learning_rate": 0.02, "d_learning_rate": 0.03}),
])
def test_learning_rate_flags_and_their_aliases(flags, expected):
    args = build_parser().parse_args(["train", *flags])
    assert fastgan.commands.config_options(vars(args)) == expected


@pytest.mark.parametrize("flags, pack", [(["--unconditional"], 2),
                                         (["--unconditional", "--pack", "1"], 1),
                                         ([], 1)], ids=["unconditional", "explicit", "labels"])
def test_default_preset_packs_pairs_only_without_labels(images, tmp_path, capsys, flags,
                                                        pack):
    code, _, err = run_cli(["train", "--dataset", images, *TINY_NET, "--steps", "1",
                            "--out", tmp_path / "r", *flags], capsys)
    assert code == 0, err
    c = read_config(tmp_path / "r")["config"]
    assert (c["pack"], c["n_classes"] == 0) == (pack, "--unconditional" in flags)
    assert c["learning_rate"] == (1e-3 if "--unconditional" in flags else 5e-4)


def test_from_preset_takes_the_unconditional_changes():
    unconditional = GAN.from_preset("fastgan", n_classes=0).config
    assert (unconditional.pack, unconditional.learning_rate, unconditional.ema,
            unconditional.g_layers) == (2, 1e-3, 0.9999, [100, 256, 784])
    given = GAN.from_preset("fastgan", n_classes=0, pack=4, g_layers=[100, 64, 784]).config
    assert (given.pack, given.learning_rate, given.g_layers) == (4, 1e-3, [100, 64, 784])
    conditional = GAN.from_preset("fastgan").config
    assert (conditional.pack, conditional.learning_rate, conditional.g_layers) == \
        (1, 5e-4, [100, 256, 512, 784])

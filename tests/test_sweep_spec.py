"""Sweep specs: trials from grids, random draws and seeds; clear errors for bad specs."""
import sys
from pathlib import Path

import pytest

import fastgan.sweep
from fastgan.cli import main
from fastgan.sweep import SweepSpec, SweepSpecError, load_sweep_file, spec_from_options
from fastgan.sweep.options import parse_distribution, parse_list
from fastgan.sweep.runner import distributed, local_plan
from fastgan.sweep.trial import train_options

TOY = {"dataset": "bimodal", "epochs": 2}
BENCH_SWEEPS = Path(__file__).resolve().parents[1] / "bench" / "sweeps"


def test_grid_times_seeds_makes_every_trial_seed_slowest():
    spec = SweepSpec(set=TOY, grid={"loss": ["hinge", "wasserstein"], "ema": [0, 0.999]},
                     seeds=2)
    trials = spec.trials()
    assert len(trials) == 8
    assert [t["seed"] for t in trials] == [0] * 4 + [1] * 4
    assert {(t["options"]["loss"], t["options"]["ema"]) for t in trials[:4]} == {
        ("hinge", 0), ("hinge", 0.999), ("wasserstein", 0), ("wasserstein", 0.999)}
    assert len({t["id"] for t in trials}) == 8
    assert trials[5]["id"] == "005-loss=hinge-ema=0.999-seed=1"
    assert all(t["options"]["dataset"] == "bimodal" for t in trials)


def test_random_draws_are_reproducible_and_in_range():
    random = {"learning_rate": {"log_uniform": [1e-4, 1e-2]}, "pack": {"choice": [1, 2, 4]},
              "d_steps": {"int": [1, 3]}, "ema": {"uniform": [0.9, 0.99]}}
    spec = SweepSpec(set=TOY, random=random, samples=6, sample_seed=3)
    trials = spec.trials()
    assert trials == spec.trials()
    assert len(trials) == 6
    for t in trials:
        o = t["options"]
        assert 1e-4 <= o["learning_rate"] <= 1e-2 and o["pack"] in (1, 2, 4)
        assert o["d_steps"] in (1, 2, 3) and 0.9 <= o["ema"] <= 0.99
    assert len({t["options"]["learning_rate"] for t in trials}) == 6
    assert SweepSpec(set=TOY, random=random, samples=6, sample_seed=4).trials() != trials


@pytest.mark.parametrize("spec, message", [
    (SweepSpec(grid={"los": ["hinge"]}), "'los' is not an option"),
    (SweepSpec(grid={"loss": ["hinge", "huber"]}), "loss='huber' is not known"),
    (SweepSpec(set={"ema": 1.5}), "ema=1.5 must be < 1"),
    (SweepSpec(set={"batch_size": 62, "pack": 4}), "pack=4 must divide batch_size=62"),
    (SweepSpec(grid={"seed": [1, 2]}), "give seeds = N"),
    (SweepSpec(set={"threads": 2}), "--threads"),
    (SweepSpec(grid={"loss": []}), "non-empty list"),
    (SweepSpec(grid={"loss": "hinge"}), "non-empty list"),
    (SweepSpec(set={"loss": "hinge"}, grid={"loss": ["hinge"]}), "more than once"),
    (SweepSpec(random={"ema": {"normal": [0, 1]}}), "must be one of"),
    (SweepSpec(random={"ema": {"uniform": [0.9, 0.5]}}), "lo < hi"),
    (SweepSpec(random={"learning_rate": {"log_uniform": [0, 1]}}), "must be > 0"),
    (SweepSpec(seeds=0), "seeds = 0 must be an int >= 1"),
    (SweepSpec(seeds=[1, 1]), "distinct"),
    (SweepSpec(set={"minutes": 1, "epochs": 2}), "minutes or epochs, not both"),
    (SweepSpec(set={"minutes": -1}), "minutes=-1 must be a number > 0"),
    (SweepSpec(set={"preset": "fast"}), "preset 'fast' is not known"),
    (SweepSpec(set={"digits": "3,5"}), "digits='3,5' must be a list of ints"),
    (SweepSpec(grid={"dataset": ["ring8", "ring9"]}),
     "dataset='ring9' is neither a data set (mnist-sample"),
])
def test_bad_specs_fail_before_anything_runs(spec, message):
    with pytest.raises(SweepSpecError) as info:
        spec.trials()
    assert message in str(info.value)


def test_sweep_file_reads_tables_and_flags_override(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('dataset = "grid25"\nminutes = 2\nseeds = 3\n[set]\nema = 0.999\n'
                    '[grid]\nloss = ["hinge", "wasserstein"]\n'
                    '[random]\nlearning_rate = {log_uniform = [1e-4, 1e-3]}\n')
    spec = load_sweep_file(path)
    assert spec.set == {"dataset": "grid25", "minutes": 2, "ema": 0.999}
    assert spec.seeds == 3 and spec.grid == {"loss": ["hinge", "wasserstein"]}
    spec = spec_from_options(file=str(path), grid=["pack=1,4"], set=["dropout=0.1"],
                             minutes=0.5, seeds=1)
    assert spec.set == {"dataset": "grid25", "minutes": 0.5, "ema": 0.999, "dropout": 0.1}
    assert spec.grid == {"loss": ["hinge", "wasserstein"], "pack": [1, 4]}
    assert len(spec.trials()) == 4


@pytest.mark.parametrize("text, message", [
    ("dataset = ", "not valid TOML"),
    ("datset = 'grid25'", "unknown key(s) datset"),
    ("[set]\nminutes = 1\n[grid]\nminutes = [1, 2]", "more than once"),
    ("dataset = 'r\xe9ng8'", "is not UTF-8 text (byte 12"),
])
def test_bad_sweep_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(SweepSpecError) as info:
        load_sweep_file(path).trials()
    assert message in str(info.value)
    with pytest.raises(SweepSpecError, match="cannot read sweep file"):
        load_sweep_file(tmp_path / "missing.toml")


def test_command_line_values_parse_lists_numbers_and_distributions():
    assert parse_list("non-saturating,hinge") == ["non-saturating", "hinge"]
    assert parse_list("[8,64,1],[8,128,1]") == [[8, 64, 1], [8, 128, 1]]
    assert parse_list("0,0.999,1e-3,none,true") == [0, 0.999, 1e-3, None, True]
    assert parse_distribution("log_uniform:1e-4:1e-2") == {"log_uniform": [1e-4, 1e-2]}
    assert parse_distribution("choice:1,2,4") == {"choice": [1, 2, 4]}
    with pytest.raises(SweepSpecError, match="must read option=value"):
        spec_from_options(grid=["loss"])


def test_trial_options_map_to_train_options():
    options = train_options({"learning_rate": 1e-3, "g_layers": [8, 64, 1], "n_classes": 0,
                             "dataset": "grid25", "minutes": 1})
    assert options["g_layers"] == [8, 64, 1] and options["unconditional"] is True
    assert options["dataset"] == "grid25" and options["minutes"] == 1
    assert 1e-3 in options.values()


def test_cli_bad_spec_exits_nonzero_with_one_line(tmp_path, capsys):
    assert main(["sweep", "--grid", "loss=huber", "--out", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("fastgan: error: trial (loss='huber', seed=0)") and "\n" not in err
    assert not (tmp_path / "s").exists()


def test_a_sweep_with_failed_trials_exits_nonzero(tmp_path, capsys, monkeypatch):
    records = [{"status": "done"}, {"status": "failed", "error": "ValueError: no data"}]
    monkeypatch.setattr(fastgan.sweep, "run_sweep",
                        lambda *a, **k: {"ran": records, "report": "(report)"})
    code = main(["sweep", "--dataset", "ring8", "--epochs", "1", "--grid", "loss=hinge",
                 "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1 and "1 of 2 trials failed; the first: ValueError: no data" in err


def test_resume_with_a_new_spec_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "--out", str(tmp_path), "--resume", "--grid", "loss=hinge"])
    assert info.value.code == 2
    assert "drop --grid" in capsys.readouterr().err


def test_resume_without_a_sweep_says_so(tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path / "none"), "--resume"]) == 1
    assert "holds no sweep" in capsys.readouterr().err


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "dask\[distributed\]"'):
        distributed()


def test_a_missing_scheduler_file_is_named(tmp_path, capsys):
    pytest.importorskip("distributed", reason='needs pip install ".[sweep]"')
    out, missing = tmp_path / "s", tmp_path / "scheduler.json"
    assert main(["sweep", "--dataset", "bimodal", "--epochs", "1", "--grid", "loss=hinge",
                 "--scheduler", str(missing), "--out", str(out)]) == 1
    assert f"no scheduler file '{missing}'" in capsys.readouterr().err
    assert not out.exists()


def test_a_sweep_that_cannot_reach_dask_leaves_no_folder(tmp_path, capsys, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError("Timed out trying to connect to tcp://nowhere:8786")

    monkeypatch.setattr(fastgan.sweep, "open_client", unreachable)
    out = tmp_path / "s"
    argv = ["sweep", "--dataset", "bimodal", "--epochs", "1", "--grid", "loss=hinge,wasserstein",
            "--scheduler", "tcp://nowhere:8786", "--out", str(out)]
    for _ in range(2):  # and the same command may run again
        assert main(argv) == 1
        assert "Timed out trying to connect" in capsys.readouterr().err
        assert not out.exists()


@pytest.mark.parametrize("trials, workers, threads, cores, expected", [
    (15, None, None, 2, (2, 1)),
    (1, None, None, 8, (1, 8)),
    (3, None, None, 8, (3, 2)),
    (15, None, 2, 8, (4, 2)),
    (15, 1, None, 8, (1, 8)),
])
def test_local_cluster_never_oversubscribes(trials, workers, threads, cores, expected):
    got = local_plan(trials, workers, threads, cores)
    assert got == expected and got[0] * got[1] <= cores


@pytest.mark.parametrize("path", sorted(BENCH_SWEEPS.glob("*.toml")), ids=lambda p: p.name)
def test_bench_sweep_files_are_valid(path):
    trials = load_sweep_file(path).trials()
    assert len(trials) >= 3 and len({t["id"] for t in trials}) == len(trials)


SWEEP_FILES = sorted((Path(__file__).parent.parent / "bench" / "sweeps").glob("*.toml"))


@pytest.mark.parametrize("path", SWEEP_FILES, ids=[p.stem for p in SWEEP_FILES])
def test_the_documented_sweep_files_make_valid_trials(path):
    """The sweeps the docs' tables come from still describe trials fastgan accepts
    (trials() checks each one as `fastgan train` would)."""
    spec = load_sweep_file(path)
    trials = spec.trials()
    settings = {repr(sorted(t["options"].items())) for t in trials}
    assert len(trials) == len(settings) * len({t["seed"] for t in trials}) > 0

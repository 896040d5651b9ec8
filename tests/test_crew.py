"""kernels.crew: helper threads that join a run's compiled updates, for the run only."""
import threading

import numpy as np
import pytest

from fastgan.backends import get_backend
from fastgan.config import Config
from fastgan.engine import Engine
from fastgan.threads import thread_settings
from fastgan.train import Trainer


def wide_run(seed=0):
    """An engine and trainer whose D and G have layers worth splitting across cores."""
    cfg = Config(g_layers=[16, 64, 256], d_layers=[256, 64, 1], batch_size=32, dropout=0.3,
                 optimizer="adam", seed=seed)
    data = np.tanh(np.random.default_rng(seed).standard_normal((320, 256)))
    engine = Engine(cfg, get_backend("numba"))
    return engine, Trainer(engine, data)


def helpers_alive():
    return [t for t in threading.enumerate() if t.name == "fastgan-helper"]


def test_a_run_has_helpers_while_it_trains_and_none_after():
    engine, trainer = wide_run()
    seen = []
    with thread_settings("numba", 2):
        trainer.run(1, on_step=lambda *_: seen.append(len(helpers_alive())))
    assert seen and all(n == 1 for n in seen)  # from the end of the first step on
    assert not helpers_alive()


def test_an_error_in_a_callback_stops_the_helpers():
    engine, trainer = wide_run()

    def fail(trainer, *_):
        if trainer.step == 3:
            raise KeyboardInterrupt

    with thread_settings("numba", 2), pytest.raises(KeyboardInterrupt):
        trainer.run(1, on_step=fail)
    assert not helpers_alive()
    with thread_settings("numba", 2):
        trainer.run(1)  # and the run goes on
    assert trainer.epoch == 1 and not helpers_alive()


def test_runs_in_two_threads_at_once_train_as_they_do_alone():
    """One crew has helpers at a time; the other run trains without, to the same
    result."""
    alone = []
    for seed in (0, 1):
        engine, trainer = wide_run(seed)
        with thread_settings("numba", 2):
            trainer.run(2)
        alone.append(engine.G.params.copy())
    runs = [wide_run(seed) for seed in (0, 1)]

    def train(trainer):
        with thread_settings("numba", 2):
            trainer.run(2)

    threads = [threading.Thread(target=train, args=(trainer,)) for _, trainer in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    for (engine, trainer), params in zip(runs, alone):
        assert trainer.epoch == 2
        np.testing.assert_array_equal(engine.G.params, params)
    assert not helpers_alive()


def test_a_crew_leaves_the_steps_to_the_calls_where_they_were_faster():
    """Each trial times TRIAL steps of each way, the crew first; the faster way stays."""
    from fastgan.kernels.crew import CYCLE, TRIAL, Trials
    trials = Trials()
    for calls, crew, expect in ((1.0, 0.95, True), (1.0, 1.05, False), (1.0, 1.2, False),
                                (1.0, 0.5, True)):
        for step in range(CYCLE):
            phase = step % CYCLE
            assert trials.crew() == (phase < TRIAL or (phase >= 2 * TRIAL and expect))
            trials.count(crew if trials.crew() else calls)


def test_a_cycle_of_trials_lasts_its_seconds_when_steps_are_short():
    from fastgan.kernels.crew import CYCLE, CYCLE_SECONDS, TRIAL, Trials
    trials, step = Trials(), 2.0 ** -10  # exact in binary: the sums are too
    cycle = int(CYCLE_SECONDS / step)
    assert cycle > CYCLE
    ways = []
    for _ in range(cycle + 2 * TRIAL):
        ways.append(trials.crew())
        trials.count(step)
    calls = [i for i, crew in enumerate(ways) if not crew]
    assert calls == list(range(TRIAL, 2 * TRIAL)) + list(range(cycle + TRIAL, cycle + 2 * TRIAL))


def test_a_run_goes_on_with_the_last_runs_trials():
    engine, trainer = wide_run()
    with thread_settings("numba", 2):
        trainer.run(1)
        steps = engine._trials.steps
        assert steps > 0
        trainer.run(2)
    assert engine._trials.steps > steps


def test_without_helpers_a_crew_always_runs_the_compiled_updates():
    engine, trainer = wide_run()
    with thread_settings("numba", 1), engine.helping() as crew:
        assert not crew.engaged  # the first step is made of calls
        engine.d_step(trainer.data, np.arange(32))
        engine.g_step()
        assert not crew.helping and crew.engaged
        for _ in range(40):
            engine.d_step(trainer.data, np.arange(32))
            engine.g_step()
            assert crew.engaged
    assert not helpers_alive()

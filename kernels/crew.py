"""A training run's D and G updates, each one compiled call, shared with helper threads.

The training thread posts an update (kernels.step's stages, with the step's UPDATE scalars,
which change every step) and works on it itself. During a run a crew of helpers (one
fewer than the threads Numba may use) waits in compiled code without the GIL, joins each
update it sees before the training thread has finished its own share and closed it, and
claims blocks beside it (kernels.sync); the training thread waits for the helpers that
joined before it returns. The blocks are the same whoever runs them, so results are too,
and a helper that is late, or gone, leaves its blocks to the others.

Why helpers rather than a Numba parallel region per update: inside a GAN S step, entering
such a region took 25-30 us before its first block ran and 10 us after its last, against
about 5 us each in a loop that does nothing else; a step has two updates of about 0.5 ms.
Between updates the helpers spin, then give their cores away more and more: a helper that
slept would take longer to wake than the update it joins.

Where another program keeps a core busy, a spinning helper loses its core to it, often
while it holds a block the training thread waits for: a GAN S step took 1.15-1.28x as long
as the engine's step of calls, each on Numba's regions, which hand a busy thread's blocks
to the others. So a crew with helpers times both ways now and then (Trials) and, until the
next trial, leaves the steps to the calls if they were faster; its helpers nap
meanwhile.

One compiled function serves the training thread and the helpers alike, so the stages
compile once per dtype: Numba compiles every function a compiled function calls into it
again, and each more entry point took the first run's compile time up by tens of seconds.
One crew with helpers works at a time in a process: a run that finds another's at work
trains without helpers.
"""
import threading
import time

import numba
import numpy as np
from numba import njit

from .step import d_stages, g_stages
from .sync import (cas, counters, exchange, fetch_add, load_acquire, nap, os_yield, pause,
                   wait_at_least)

# the control block: one counter per cache line
_STATE, _FINISHED, _KIND, _QUIT, _PARKED = 0, 8, 16, 24, 32
_JOINED = 0x7F  # STATE = update number << 8 | CLOSED | helpers joined
_CLOSED = 1 << 7  # no more helpers may join
MAX_HELPERS = 64
_TRAIN, _HELP = 0, 1  # the roles of the compiled entry point
D_UPDATE, G_UPDATE = 1, 2
_LOSS = 15  # where an update's loss lands in the scalars
# a helper between updates: spins, then yields its core at each turn, then naps; a parked
# one naps at once
_SPIN_TURNS, _YIELD_TURNS = 1 << 10, 1 << 17
# a trial times TRIAL steps of each way at the start of each cycle, which lasts CYCLE steps
# and CYCLE_SECONDS at least: the calls' trial cost GAN S's 1 ms steps 0.8% with cycles of
# 512 steps alone (its steps of calls took 1.26x as long as the crew's)
TRIAL, CYCLE, CYCLE_SECONDS = 16, 512, 2.0


class Crew:
    """The compiled updates of one engine, with `helpers` threads while a `with crew:`
    block runs (fewer than one, or another crew at work: none). `passes`: the engine's
    pass arguments (fastgan.engine.Engine._passes); d_update, g_update: (params, grads, m,
    v, average) of D's and G's optimizer steps; heads, head, weight, noisy as
    kernels.step's stages take them; masking = (dropout rate, the mask spans of D's pass in
    the D update, of its pass in the G update) (fastgan.nets.mask_spans); inputs: the
    batch's inputs that the D update forms (kernels.inputs.batch_parts; an empty batch for
    none).

    The compiled function is compiled (or loaded from Numba's cache) once the run's first
    step, made of calls, is done, so that a first step on an empty cache does not wait
    for it too: compiling it took about 30 s where nothing was cached. Not on a thread of
    its own beside the run: Numba's compiler swaps the warnings module's global hooks
    (catch_warnings), which then swallowed the run's own warnings. The crew takes the
    steps from the second (`engaged`)."""

    _one = threading.Lock()  # one crew with helpers at work per process

    def __init__(self, helpers, passes, d_update, g_update, heads, head, weight, noisy,
                 masking, inputs, trials=None):
        self.helpers = min(helpers, MAX_HELPERS)
        self.control = np.zeros(5 * 8, np.int64)
        stages = passes["G"][9].shape[0] + 2 * passes["D"][9].shape[0] + 4
        self.scalars = np.zeros(16)
        self.key = np.zeros(1, np.uint64)  # the seed of the update's dropout masks
        self._args = (self.control, counters(stages), self.scalars, passes["G"], passes["D"],
                      passes["D'"], passes["D fake"], passes["D' fake"], passes["G'"],
                      d_update, g_update, heads, head, weight, noisy, (self.key, *masking),
                      inputs)
        self._threads = []
        # the trials (a run's crews share them, so a short run goes on with the last
        # one's), the way of the step now, and when it started
        self.trials = Trials() if trials is None else trials
        self.engaged, self._start = False, None
        self._helpers = False  # whether this crew may start helpers

    def __enter__(self):
        self._helpers = self.helpers > 0 and Crew._one.acquire(blocking=False)
        return self

    def __exit__(self, *exc):
        self.engaged = False
        if self._threads:
            self.control[_QUIT] = 1
            for thread in self._threads:
                thread.join()
            self._threads = []
        if self._helpers:
            self._helpers = False
            Crew._one.release()

    @property
    def helping(self):
        """Whether helper threads are at work."""
        return bool(self._threads)

    @staticmethod
    def compile(args):
        """Compile the function for `args` (a crew's), or load it from Numba's cache."""
        _crew.compile(tuple(numba.typeof(a) for a in (_TRAIN, D_UPDATE, *args)))

    def update(self, kind, step, key):
        """Run update `kind` (D_UPDATE or G_UPDATE) with the UPDATE `step` (of D's
        parameters, or G's; kernels.optim.update) and the dropout masks seeded by `key`
        (kernels.masks); return its loss."""
        self.scalars[:8] = step[:8]
        self.key[0] = key
        return _crew(_TRAIN, kind, *self._args)

    def start(self):
        """A step begins (its first D update): time it."""
        if self._start is None:
            self._start = time.perf_counter()

    def finish(self):
        """The step ended (its G update): count it; after the first, compile the function
        and start the helpers, and take the steps."""
        seconds, self._start = time.perf_counter() - self._start, None
        if self._threads:
            self._count(seconds)
        elif not self.engaged:
            self.compile(self._args)
            self._start_helpers()

    def _start_helpers(self):
        self.engaged = True
        if not self._helpers:
            return
        self.control[:] = 0
        self._threads = [threading.Thread(target=_crew, args=(_HELP, 0, *self._args),
                                          daemon=True, name="fastgan-helper")
                         for _ in range(self.helpers)]
        for thread in self._threads:
            thread.start()
        self._choose()

    def _count(self, seconds):
        """Count a step of `seconds` and pick the next step's way."""
        self.trials.count(seconds)
        self._choose()

    def _choose(self):
        self.engaged = self.trials.crew()
        # parked helpers nap: the calls' regions then have the cores to themselves
        self.control[_PARKED] = not self.engaged


class Trials:
    """Which way a crew with helpers trains: the crew for TRIAL steps and the calls for
    TRIAL steps at the start of every cycle (CYCLE steps and CYCLE_SECONDS of them at
    least), then the way whose trial was faster."""

    def __init__(self):
        self.steps = 0  # counted so far
        self.phase, self.seconds = 0, 0.0  # steps into the cycle, and their time
        self.spent, self.calls = [0.0, 0.0], False  # spent: crew, calls

    def crew(self):
        """Whether the crew takes the next step."""
        return self.phase < TRIAL or (self.phase >= 2 * TRIAL and not self.calls)

    def count(self, seconds):
        """Count a step of `seconds`."""
        if self.phase < 2 * TRIAL:
            self.spent[self.phase // TRIAL] += seconds
        self.steps += 1
        self.phase += 1
        self.seconds += seconds
        if self.phase == 2 * TRIAL:
            self.calls = self.spent[1] < self.spent[0]
            self.spent = [0.0, 0.0]
        if self.phase >= CYCLE and self.seconds >= CYCLE_SECONDS:
            self.phase, self.seconds = 0, 0.0


@njit(cache=True, nogil=True)
def _crew(role, kind, control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update,
          g_update, heads, head, weight, noisy, masking, inputs):
    """The training thread's update `kind` (role _TRAIN), or a helper's loop (_HELP)."""
    if role == _HELP:
        _serve(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update, g_update,
               heads, head, weight, noisy, masking, inputs)
        return 0.0
    sync[:] = 0
    control[_KIND] = kind
    control[_FINISHED] = 0
    number = (load_acquire(control, _STATE) >> 8) + 1
    exchange(control, _STATE, number << 8)  # posted: the writes before are visible
    _work(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update, g_update, heads,
          head, weight, noisy, masking, inputs)
    while True:  # closed: no more helpers join; wait for those that did
        state = load_acquire(control, _STATE)
        if cas(control, _STATE, state, state | _CLOSED):
            break
    wait_at_least(control, _FINISHED, state & _JOINED)
    return scalars[_LOSS]


@njit(cache=True)
def _serve(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update, g_update, heads,
           head, weight, noisy, masking, inputs):
    """A helper's loop: join each update it sees open, until told to quit."""
    seen, turns = load_acquire(control, _STATE) >> 8, 0
    while load_acquire(control, _QUIT) == 0:
        state = load_acquire(control, _STATE)
        if state >> 8 != seen:
            if state & _CLOSED:
                seen = state >> 8
            elif cas(control, _STATE, state, state + 1):
                seen, turns = state >> 8, 0
                _work(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update,
                      g_update, heads, head, weight, noisy, masking, inputs)
                fetch_add(control, _FINISHED, 1)
            continue
        turns += 1
        pause()
        if turns > _YIELD_TURNS or load_acquire(control, _PARKED):
            nap()
        elif turns > _SPIN_TURNS:
            os_yield()


@njit(cache=True)
def _work(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update, g_update, heads,
          head, weight, noisy, masking, inputs):
    """A thread's share of the update posted."""
    loss = scalars[_LOSS:]
    key, rate, d_spans, fake_spans = masking
    if control[_KIND] == D_UPDATE:
        d_stages(g, d, db, _update(scalars, d_update), heads, weight, noisy,
                 (key[0], rate, d_spans), inputs, loss, sync)
    else:
        none = d_update[0][:0]
        nothing = (0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, none, none, none, none, none)
        g_stages(d_fake, db_fake, nothing, gb, _update(scalars, g_update), head, weight,
                 (key[0], rate, fake_spans), inputs, loss, sync)


@njit(cache=True, inline="always")
def _update(scalars, arrays):
    """The UPDATE tuple (kernels.optim.update) posted in `scalars`, over `arrays` =
    (params, grads, m, v, average)."""
    params, grads, m, v, average = arrays
    return (np.int64(scalars[0]), scalars[1], scalars[2], scalars[3], scalars[4], scalars[5],
            scalars[6], scalars[7], params, grads, m, v, average)

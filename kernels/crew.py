"""Helper threads that share a training run's compiled D and G updates with the thread that
trains, without a parallel region per update.

Numba starts a parallel region for every call of kernels.step's updates. Inside a training
step that start took 25-30 us before the first block ran, and the end 10 more, against
about 5 us each in a loop that does nothing else: two regions cost about 70 us of a GAN S
step of 1.3 ms. A crew starts its helpers once, for a whole run: each is a Python thread
in compiled code without the GIL, spinning until the training thread posts an update, then
claiming that update's blocks beside it (kernels.sync), as a region's threads would. The
blocks are the same whoever runs them, so results are too.

The training thread posts an update (kernels.step's, with the step's UPDATE scalars, which
change every step) and works on it itself; a helper joins the update if it sees it before
the training thread has finished its own share and closed it, and the training thread
waits for the helpers that joined before it returns. A helper that is late, or gone,
leaves its blocks to the others. Between updates the helpers spin, then give their cores
away more and more: a run spends most of its time in the updates, and a helper that slept
would take longer to wake than the update it joins.

Where another program keeps a core busy, a helper that spins between updates loses its
core to it, often while it holds a block the training thread waits for: a GAN S step took
0.78-0.85x as long on Numba's regions as with a crew, the other way round from free cores.
So a crew times both ways now and then (TRIAL steps of each every CYCLE steps) and trains on
the regions until the next trial where they were clearly faster.

One crew runs at a time in a process: a run that finds another's crew at work trains on
Numba's regions instead (concurrent runs then share the cores through TBB).
"""
import threading
import time

import numpy as np
from numba import njit

from .step import _d_stages, _g_stages
from .sync import (cas, counters, exchange, fetch_add, load_acquire, nap, os_yield, pause,
                   wait_at_least)

# the control block: one counter per cache line
_STATE, _FINISHED, _KIND, _QUIT, _PARKED = 0, 8, 16, 24, 32
_JOINED = 0x7F  # STATE = update number << 8 | CLOSED | helpers joined
_CLOSED = 1 << 7  # no more helpers may join
_D, _G = 1, 2  # the update posted
_LOSS = 15  # where the update's loss lands in the scalars
# a helper between updates: spins, then yields its core at each turn, then naps; a parked
# one naps at once
_SPIN_TURNS, _YIELD_TURNS = 1 << 10, 1 << 17
TRIAL, CYCLE = 16, 512
MARGIN = 1.1  # the regions' trial must be this much faster to be chosen


class Crew:
    """`helpers` threads that join the compiled updates of one engine while a `with crew:`
    block runs. `regions`: the updates on Numba's regions (kernels.step's gan_d_step and
    gan_g_step), which the crew's own d_step and g_step stand in for; `passes`: the
    engine's pass arguments (fastgan.engine.Engine._passes); d_update, g_update: (params,
    grads, m, v, average) of D's and G's optimizer steps; heads, head, weight, noisy as
    kernels.step's updates take them."""

    _one = threading.Lock()  # one crew at work per process

    def __init__(self, helpers, regions, passes, d_update, g_update, heads, head, weight,
                 noisy):
        self.helpers, self.regions = helpers, regions
        self.control = np.zeros(5 * 8, np.int64)
        stages = passes["G"][9].shape[0] + 2 * passes["D"][9].shape[0] + 3
        self.sync = counters(stages)
        self.scalars = np.zeros(16)
        self._args = (self.control, self.sync, self.scalars, passes["G"], passes["D"],
                      passes["D'"], passes["D fake"], passes["D' fake"], passes["G'"],
                      d_update, g_update, heads, head, weight, noisy)
        self._threads = []
        self.active = False
        # the trials: steps so far, the seconds of each way's trial steps, the way now
        self._steps, self._spent, self.helped, self._start = 0, [0.0, 0.0], False, None

    def __enter__(self):
        if self.helpers < 1 or not Crew._one.acquire(blocking=False):
            return self
        self.control[:] = 0
        self.control[_PARKED] = not self.helped
        self._threads = [threading.Thread(target=_serve, args=self._args, daemon=True,
                                          name="fastgan-helper")
                         for _ in range(self.helpers)]
        for thread in self._threads:
            thread.start()
        self.active = True
        return self

    def __exit__(self, *exc):
        if not self.active:
            return
        self.control[_QUIT] = 1
        for thread in self._threads:
            thread.join()
        self._threads, self.active = [], False
        Crew._one.release()

    def d_step(self, g, d, db, step, heads, weight, noisy):
        """kernels.step.gan_d_step, with the crew or on Numba's regions."""
        if self._start is None:
            self._start = time.perf_counter()
        if not self.helped:
            return self.regions[0](g, d, db, step, heads, weight, noisy)
        return _crew_d_step(self.control, self.sync, self.scalars, g, d, db, step, heads,
                            weight, noisy)

    def g_step(self, d, db, dstep, g, gstep, head, weight):
        """kernels.step.gan_g_step, with the crew or on Numba's regions."""
        if not self.helped:
            loss = self.regions[1](d, db, dstep, g, gstep, head, weight)
        else:
            loss = _crew_g_step(self.control, self.sync, self.scalars, d, db, dstep, g,
                                gstep, head, weight)
        self._count(time.perf_counter() - self._start)
        self._start = None
        return loss

    def _count(self, seconds):
        """Count a step of the updates that took `seconds`, and pick the next one's way:
        each way in turn for TRIAL steps at the start of every CYCLE steps, then the crew
        unless the regions' trial was clearly faster (a busy core)."""
        phase = self._steps % CYCLE
        if phase < 2 * TRIAL:
            self._spent[phase // TRIAL] += seconds
        self._steps += 1
        phase = self._steps % CYCLE
        if phase < 2 * TRIAL:
            self.helped = phase >= TRIAL
        elif phase == 2 * TRIAL:
            self.helped = self._spent[1] < MARGIN * self._spent[0]
            self._spent = [0.0, 0.0]
        # parked helpers nap: Numba's regions then have the cores to themselves
        self.control[_PARKED] = not self.helped


@njit(cache=True)
def _crew_d_step(control, sync, scalars, g, d, db, step, heads, weight, noisy):
    _post(control, sync, scalars, _D, step)
    _d_stages(g, d, db, step, heads, weight, noisy, scalars[_LOSS:], sync)
    _close(control)
    return scalars[_LOSS]


@njit(cache=True)
def _crew_g_step(control, sync, scalars, d, db, dstep, g, gstep, head, weight):
    _post(control, sync, scalars, _G, gstep)
    _g_stages(d, db, dstep, g, gstep, head, weight, scalars[_LOSS:], sync)
    _close(control)
    return scalars[_LOSS]


@njit(cache=True)
def _post(control, sync, scalars, kind, step):
    """Post the next update: fresh counters, the UPDATE's scalars, then its number."""
    sync[:] = 0
    scalars[0] = step[0]
    scalars[1], scalars[2], scalars[3], scalars[4] = step[1], step[2], step[3], step[4]
    scalars[5], scalars[6], scalars[7] = step[5], step[6], step[7]
    control[_KIND] = kind
    control[_FINISHED] = 0
    number = (load_acquire(control, _STATE) >> 8) + 1
    exchange(control, _STATE, number << 8)


@njit(cache=True)
def _close(control):
    """Let no more helpers join the update; wait for those that did."""
    while True:
        state = load_acquire(control, _STATE)
        if cas(control, _STATE, state, state | _CLOSED):
            break
    wait_at_least(control, _FINISHED, state & _JOINED)


@njit(cache=True, nogil=True)
def _serve(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update, g_update, heads,
           head, weight, noisy):
    """A helper's loop: join each update it sees open, until told to quit."""
    seen, turns = load_acquire(control, _STATE) >> 8, 0
    while load_acquire(control, _QUIT) == 0:
        state = load_acquire(control, _STATE)
        if state >> 8 != seen:
            if state & _CLOSED:
                seen = state >> 8
            elif cas(control, _STATE, state, state + 1):
                seen, turns = state >> 8, 0
                _help(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update,
                      g_update, heads, head, weight, noisy)
                fetch_add(control, _FINISHED, 1)
            continue
        turns += 1
        pause()
        if turns > _YIELD_TURNS or load_acquire(control, _PARKED):
            nap()
        elif turns > _SPIN_TURNS:
            os_yield()


@njit(cache=True)
def _help(control, sync, scalars, g, d, db, d_fake, db_fake, gb, d_update, g_update, heads,
          head, weight, noisy):
    """A helper's share of the update posted."""
    loss = scalars[_LOSS:]
    if control[_KIND] == _D:
        step = _update(scalars, d_update)
        _d_stages(g, d, db, step, heads, weight, noisy, loss, sync)
    else:
        params = d_update[0]
        none = (0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, params[:0], params[:0], params[:0],
                params[:0], params[:0])
        _g_stages(d_fake, db_fake, none, gb, _update(scalars, g_update), head, weight, loss,
                  sync)


@njit(cache=True, inline="always")
def _update(scalars, arrays):
    """The UPDATE tuple (kernels.optim.update) posted in `scalars`, over `arrays` =
    (params, grads, m, v, average)."""
    params, grads, m, v, average = arrays
    return (np.int64(scalars[0]), scalars[1], scalars[2], scalars[3], scalars[4], scalars[5],
            scalars[6], scalars[7], params, grads, m, v, average)

"""kernels.sync: the threads of one region share stages of blocks, each block claimed once,
a stage started only when the one before is done."""
import numpy as np
from numba import njit, prange

from fastgan.kernels.sync import claim, counters, done, wait
from fastgan.threads import thread_settings


@njit(parallel=True)
def _walk(workers, stages, blocks, claims, seen_done):
    """Every worker walks the stages; claims[s, t] counts the claims of block t of stage s,
    seen_done[s, t] the blocks of stage s - 1 done when it was claimed."""
    sync = counters(stages)
    for _ in prange(workers):
        for s in range(stages):
            if s > 0:
                wait(sync, s - 1, blocks)
            t = claim(sync, s)
            while t < blocks:
                claims[s, t] += 1
                if s > 0:
                    seen_done[s, t] = sync[(s - 1) * 16 + 8]
                done(sync, s)
                t = claim(sync, s)


def test_each_block_is_claimed_once_after_the_stage_before():
    stages, blocks = 50, 7
    for workers, threads in ((1, 1), (2, None), (8, None), (8, 1)):
        claims = np.zeros((stages, blocks), np.int64)
        seen = np.zeros((stages, blocks), np.int64)
        with thread_settings("numba", threads):
            _walk(workers, stages, blocks, claims, seen)
        assert (claims == 1).all(), (workers, threads)
        assert (seen[1:] == blocks).all(), (workers, threads)

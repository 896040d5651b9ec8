"""Gathering a batch of real rows, uint8 pixels scaled through a table as they are read."""
from numba import njit, prange


@njit(cache=True, parallel=True)
def gather_scaled(data, idx, table, out):
    """out[i, j] = table[data[idx[i], j]]. data (N, f) uint8, idx (n,), table (256,), out (n, f)."""
    n, f = out.shape
    for i in prange(n):
        row = data[idx[i]]
        for j in range(f):
            out[i, j] = table[row[j]]

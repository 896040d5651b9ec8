"""Loss heads on the discriminator's logits, stable for any |logit| (see reference.loss_head)."""
import numpy as np
from numba import njit

from . import checks
from .codes import HEADS

_BCE, _NEG_SOFTPLUS, _SQUARED, _HINGE = 0, 1, 2, 3


@njit(cache=True, inline="always")
def _softplus(l):
    return max(l, 0.0) + np.log1p(np.exp(-abs(l)))


@njit(cache=True, inline="always")
def _sigmoid(l):
    if l >= 0:
        return 1 / (1 + np.exp(-l))
    e = np.exp(l)
    return e / (1 + e)


def loss_head(logits, head, target, weight, dlogits):
    """Return weight * sum f(l) over logits (n, 1); fill dlogits (n, 1) with weight * f'(l)."""
    name = "loss_head"
    n, _ = checks.matrix(name, "logits", logits)
    checks.shape(name, "logits", logits, (n, 1))
    checks.shape(name, "dlogits", dlogits, (n, 1))
    checks.floats(name, logits=logits, dlogits=dlogits)
    checks.code(name, "head", head, HEADS)
    checks.writable_rows(name, "dlogits", dlogits)
    return _loss_head(logits, head, target, weight, dlogits)


@njit(cache=True)
def _loss_head(logits, head, target, weight, dlogits):
    total = 0.0
    for i in range(logits.shape[0]):
        l = logits[i, 0]
        if head == _BCE:
            f = _softplus(l) - target * l
            d = _sigmoid(l) - target
        elif head == _NEG_SOFTPLUS:
            f = -_softplus(l)
            d = -_sigmoid(l)
        elif head == _SQUARED:
            f = 0.5 * (l - target) ** 2
            d = l - target
        elif head == _HINGE:
            f = max(1 - target * l, 0.0)
            d = -target if 1 - target * l > 0 else 0.0
        else:
            f = -target * l
            d = -target
        total += f
        dlogits[i, 0] = weight * d
    return weight * total


loss_head.unchecked = _loss_head  # for callers whose arrays fit by construction

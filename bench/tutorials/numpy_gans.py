"""The five tutorials' training algorithms in plain, per-layer NumPy: the yardstick fastgan is
timed against (bench/tutorials/compare.py).

Each recipe follows its tutorial's maths: layer sizes, activations, noise, optimizer, update
order and gradient scale (the NumPy tutorial sums over the batch, the others take means).
Where a tutorial's own code has a plain slip, this code does the correct maths as fastgan
does: the NumPy tutorial's D backward reuses the fake pass's pre-activations for the real
pass, and the 1-D toy tutorial estimates gradients numerically for a random tenth of its
weights and never updates its biases; both get exact backpropagation here.
"""
import numpy as np

_ACTS = {
    "relu": (lambda z, a: np.maximum(z, 0), lambda y, a: (y > 0).astype(y.dtype)),
    "leaky_relu": (lambda z, a: np.where(z > 0, z, a * z),
                   lambda y, a: np.where(y > 0, 1.0, a).astype(y.dtype, copy=False)),
    "tanh": (lambda z, a: np.tanh(z), lambda y, a: 1 - y * y),
    "sigmoid": (lambda z, a: 1 / (1 + np.exp(-z)), lambda y, a: y * (1 - y)),
    "linear": (lambda z, a: z, lambda y, a: np.ones_like(y)),
}


class Dense:
    """y = act(x @ w + b), keeping x and y for the backward pass."""

    def __init__(self, k, m, act, alpha, rng, dtype=np.float64):
        self.w = (rng.standard_normal((k, m)) * np.sqrt(2.0 / k)).astype(dtype)
        self.b = np.zeros(m, dtype)
        self.act, self.alpha = act, alpha

    def forward(self, x, keep=None):
        self.x = x
        y = _ACTS[self.act][0](x @ self.w + self.b, self.alpha)
        self.keep = keep
        self.y = y if keep is None else y * keep
        return self.y

    def backward(self, dy):
        if self.keep is not None:
            dy = dy * self.keep
        dz = dy * _ACTS[self.act][1](self.y, self.alpha)
        self.dw, self.db = self.x.T @ dz, dz.sum(axis=0)
        return dz @ self.w.T


class MLP:
    """Dense layers: hidden activation `act`, output activation `out`; D's output is a logit.
    Weights, masks and every product stay in `dtype` when the inputs are `dtype`."""

    def __init__(self, sizes, act, out, alpha, rng, dropout=0.0, dtype=np.float64):
        acts = [act] * (len(sizes) - 2) + [out]
        self.layers = [Dense(k, m, a, alpha, rng, dtype)
                       for k, m, a in zip(sizes, sizes[1:], acts)]
        self.dropout, self.rng, self.dtype = dropout, rng, dtype

    def forward(self, x, train=True):
        for i, layer in enumerate(self.layers):
            keep = None
            if train and self.dropout and i < len(self.layers) - 1:
                keep = ((self.rng.random((len(x), layer.w.shape[1])) >= self.dropout)
                        / (1 - self.dropout)).astype(self.dtype, copy=False)
            x = layer.forward(x, keep)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def params(self):
        return [p for layer in self.layers for p in (layer.w, layer.b)]

    def grads(self):
        return [g for layer in self.layers for g in (layer.dw, layer.db)]


class SGD:
    def __init__(self, lr):
        self.lr = lr

    def step(self, net):
        for p, g in zip(net.params(), net.grads()):
            p -= self.lr * g


class Adam:
    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t, self.m, self.v = \
            lr, beta1, beta2, eps, 0, None, None

    def step(self, net):
        params, grads = net.params(), net.grads()
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= self.lr * (m / (1 - self.b1 ** self.t)) / (
                np.sqrt(v / (1 - self.b2 ** self.t)) + self.eps)


def _sigmoid(z):
    return 1 / (1 + np.exp(-np.clip(z, -500, 500)))


def bce(logits, target, weight):
    """(mean of -log p or -log(1 - p), dlogits * weight): sigmoid cross-entropy of logits."""
    p = _sigmoid(logits)
    loss = -np.mean(np.log(np.where(target == 1, p, 1 - p) + 1e-12))
    return loss, (p - target) * weight


def gan_step(G, D, opt_g, opt_d, real, z_real, z_gen, reduction):
    """D on real and G(z_real), then G through D on G(z_gen): the tutorials' shared step.

    Returns (d_loss, g_loss, D's mean probability on the real and on the fake rows).
    """
    n = len(real)
    w = 1.0 if reduction == "sum" else 1.0 / n
    fake = G.forward(z_real)
    lr_, dr = bce(D.forward(real), 1.0, w)
    p_real = _sigmoid(D.layers[-1].y).mean()
    D.backward(dr)
    saved = [(g.copy()) for g in D.grads()]
    lf, df = bce(D.forward(fake), 0.0, w)
    p_fake = _sigmoid(D.layers[-1].y).mean()
    D.backward(df)
    for layer, dw, db in zip(D.layers, saved[::2], saved[1::2]):
        layer.dw += dw
        layer.db += db
    opt_d.step(D)
    fake = fake if z_gen is z_real else G.forward(z_gen)
    lg, dg = bce(D.forward(fake), 1.0, w)
    G.backward(D.backward(dg))
    opt_g.step(G)
    return lr_ + lf, lg, p_real, p_fake

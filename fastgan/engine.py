"""One GAN training step on preallocated workspaces, through a backend's primitives.

Layout of a step (batch n): G maps noise z (n, nz) straight into rows n:2n of D's input buffer,
a real batch is gathered into rows 0:n, and D judges all 2n rows in one pass. After D's update,
the generator step re-runs D on the same fake rows and backpropagates to G without D's dw.
"""
import numpy as np

from .kernels.codes import HEADS
from .nets import MLP

# Per loss: (head, target) for D on real rows, D on fake rows, and G on fake rows.
LOSS_HEADS = {
    "non-saturating": (("bce", 1.0), ("bce", 0.0), ("bce", 1.0)),
    "minimax": (("bce", 1.0), ("bce", 0.0), ("neg_softplus", 0.0)),
    "least-squares": (("squared", 1.0), ("squared", 0.0), ("squared", 1.0)),
    "hinge": (("hinge", 1.0), ("hinge", -1.0), ("linear", 1.0)),
    "wasserstein": (("linear", 1.0), ("linear", -1.0), ("linear", 1.0)),
}


class Workspace:
    """Buffers for one network at a fixed row count: outputs, dropout masks, gradients."""

    def __init__(self, net, rows, dropout, first_input_grad):
        dt = net.dtype
        widths = net.sizes[1:]
        self.outs = [np.zeros((rows, m), dt) for m in widths]
        hidden = range(len(widths) - 1)
        self.masks = [np.zeros((rows, widths[l]), dt) if dropout and l in hidden
                      else np.zeros((0, 0), dt) for l in range(len(widths))]
        self.hs = [np.zeros_like(mk) if mk.size else out for mk, out in zip(self.masks, self.outs)]
        self.grads = [np.zeros((rows, m), dt) for m in widths]
        k = net.sizes[0]
        self.dx0 = np.zeros((rows, k), dt) if first_input_grad else np.zeros((0, 0), dt)
        self.keep = np.zeros((rows, max(widths)), bool)
        # x.T scratch for the weight gradients, one per layer input
        self.xts = [np.zeros((k, rows), dt) for k in net.sizes[:-1]]


class Engine:
    """Networks, optimizer state, workspaces and RNG of a run; `step()` trains one batch."""

    def __init__(self, config, backend):
        self.cfg = config
        self.be = backend
        dt = np.dtype(config.dtype)
        self.dtype = dt
        self.rng = np.random.default_rng(config.seed)
        self.G = MLP(config.g_layers, config.g_activation, config.g_output, config.alpha, dt)
        self.D = MLP(config.d_layers, config.d_activation, "linear", config.alpha, dt)
        self.G.init(self.rng)
        self.D.init(self.rng)
        self.opt = {"G": _OptState(self.G.params, config.lr_g, config.optimizer),
                    "D": _OptState(self.D.params, config.lr_d, config.optimizer)}
        n = config.batch_size
        self.n = n
        self.gw = Workspace(self.G, n, 0.0, first_input_grad=False)
        self.dw = Workspace(self.D, 2 * n, config.dropout, first_input_grad=True)
        self.x_d = np.zeros((2 * n, config.d_layers[0]), dt)
        # G writes its samples straight into the fake half of D's input.
        self.gw.outs[-1] = self.x_d[n:]
        self.gw.hs[-1] = self.gw.outs[-1]
        self.z = np.zeros((n, config.g_layers[0]), dt)
        self.empty = np.zeros((0, 0), dt)
        self.empty1 = np.zeros(0, dt)
        heads = LOSS_HEADS[config.loss]
        self.heads = [(HEADS[h], t) for h, t in heads]

    # --- forward / backward through one network --------------------------------------
    def _forward(self, net, ws, x, rows, train):
        be, h = self.be, x
        for l in range(net.n_layers):
            mask = ws.masks[l][rows] if ws.masks[l].size else self.empty
            if mask.size and train:
                self._draw_mask(mask, ws.keep[rows, :mask.shape[1]])
            out = ws.outs[l][rows]
            hl = ws.hs[l][rows] if mask.size else self.empty
            be.dense_forward(h, net.weights[l], net.biases[l], net.acts[l], net.alpha,
                             mask, out, hl)
            h = hl if mask.size else out
        return h

    def _backward(self, net, ws, x, rows, dout, want_dw, want_dx):
        be = self.be
        for l in reversed(range(net.n_layers)):
            inp = x if l == 0 else (ws.hs[l - 1][rows])
            mask = ws.masks[l][rows] if ws.masks[l].size else self.empty
            dw = net.dweights[l] if want_dw else self.empty
            db = net.dbiases[l] if want_dw else self.empty1
            if l > 0:
                dx = ws.grads[l - 1][rows]
            else:
                dx = ws.dx0[rows] if want_dx else self.empty
            xt = ws.xts[l] if want_dw else self.empty
            be.dense_backward(inp, net.weights[l], ws.outs[l][rows], dout, net.acts[l],
                              net.alpha, mask, dw, db, dx, xt)
            dout = dx

    def _draw_mask(self, mask, keep):
        p = self.cfg.dropout
        self.rng.random(out=mask) if mask.dtype == np.float64 else \
            self.rng.random(dtype=np.float32, out=mask)
        np.greater_equal(mask, p, out=keep)
        np.multiply(keep, 1.0 / (1.0 - p), out=mask)

    # --- the training step ----------------------------------------------------------
    def d_step(self, data, idx):
        """Update D on real rows data[idx] and a fresh fake batch; return D's loss."""
        n, D = self.n, self.D
        np.take(data, idx, axis=0, out=self.x_d[:n])
        self._noise()
        self._forward(self.G, self.gw, self.z, slice(None), train=True)
        all_rows = slice(None)
        logits = self._forward(D, self.dw, self.x_d, all_rows, train=True)
        dlogits = self.dw.grads[-1]
        (hr, tr), (hf, tf) = self.heads[0], self.heads[1]
        w = 1.0 / n
        loss = self.be.loss_head(logits[:n], hr, tr, w, dlogits[:n])
        loss += self.be.loss_head(logits[n:], hf, tf, w, dlogits[n:])
        self._backward(D, self.dw, self.x_d, all_rows, dlogits, want_dw=True, want_dx=False)
        self._update("D", D)
        return loss

    def g_step(self):
        """Update G through D on the fake rows of the last d_step; return G's loss."""
        n, D = self.n, self.D
        fake = slice(n, 2 * n)
        logits = self._forward(D, self.dw, self.x_d[n:], fake, train=True)
        dlogits = self.dw.grads[-1][fake]
        hg, tg = self.heads[2]
        loss = self.be.loss_head(logits, hg, tg, 1.0 / n, dlogits)
        self._backward(D, self.dw, self.x_d[n:], fake, dlogits, want_dw=False, want_dx=True)
        dfake = self.dw.dx0[fake]
        self._backward(self.G, self.gw, self.z, slice(None), dfake, want_dw=True, want_dx=False)
        self._update("G", self.G)
        return loss

    def _noise(self):
        if self.dtype == np.float64:
            self.rng.standard_normal(out=self.z)
        else:
            self.rng.standard_normal(dtype=np.float32, out=self.z)

    def _update(self, name, net):
        opt, cfg = self.opt[name], self.cfg
        lr = opt.lr
        if cfg.optimizer == "sgd":
            self.be.sgd_update(net.params, net.grads, lr)
            return
        opt.t += 1
        lr_t = lr / (1 - cfg.beta1 ** opt.t)
        c2 = 1 / (1 - cfg.beta2 ** opt.t)
        self.be.adam_update(net.params, net.grads, opt.m, opt.v, lr_t, cfg.beta1, cfg.beta2,
                            cfg.eps, c2)

    def end_epoch(self, epoch):
        """The NumPy tutorial's SGD schedule: lr <- lr / (1 + decay * epoch)."""
        if self.cfg.optimizer == "sgd":
            for opt in self.opt.values():
                opt.lr = opt.lr / (1.0 + self.cfg.decay_rate * epoch)

    # --- sampling -------------------------------------------------------------------
    def generate(self, z, chunk=1024):
        """G(z) for noise z (n, nz) in chunks, without touching the training workspaces."""
        out = np.empty((z.shape[0], self.G.sizes[-1]), self.dtype)
        for lo in range(0, z.shape[0], chunk):
            zc = np.ascontiguousarray(z[lo:lo + chunk], dtype=self.dtype)
            ws = Workspace(self.G, zc.shape[0], 0.0, first_input_grad=False)
            out[lo:lo + chunk] = self._forward(self.G, ws, zc, slice(None), train=False)
        return out


class _OptState:
    def __init__(self, params, lr, optimizer):
        self.lr = lr
        self.t = 0
        adam = optimizer == "adam"
        self.m = np.zeros_like(params) if adam else np.zeros(0, params.dtype)
        self.v = np.zeros_like(params) if adam else np.zeros(0, params.dtype)

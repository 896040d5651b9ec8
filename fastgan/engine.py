"""One GAN training step on preallocated workspaces, through a backend's primitives.

Layout of a step (batch n, pack P): a real batch is gathered into rows 0:n of D's input
buffer x_d and G's samples fill rows n:2n; D reads x_d as (2n/P, P * width), so packing P
samples per judgement is a free reshape, and judges real and fake rows in one pass. After
D's update, the generator step re-runs D on the same fake rows and backpropagates to G
without D's dw. Without labels or instance noise, G writes straight into x_d; with labels,
whose one-hot columns follow each sample in x_d, G's pass copies its output blocks into
x_d as it forms them, and G's backward pass reads its gradient from D's input gradient in
place.
"""
import contextlib

import numba
import numpy as np

from .backends import trusted
from .kernels import reference
from .kernels.box_muller import normal_draws
from .kernels.codes import HEADS
from .kernels.inputs import batch_draws, batch_parts
from .kernels.crew import D_UPDATE, G_UPDATE
from .kernels.network import PARALLEL
from .kernels.optim import no_update
from .nets import (MLP, Workspace, adam, backward, backward_args, forward, forward_args,
                   mask_spans, sgd)

# Per loss: (head, target) for D on real rows, D on fake rows, and G on fake rows.
LOSS_HEADS = {
    "non-saturating": (("bce", 1.0), ("bce", 0.0), ("bce", 1.0)),
    "minimax": (("bce", 1.0), ("bce", 0.0), ("neg_softplus", 0.0)),
    "least-squares": (("squared", 1.0), ("squared", 0.0), ("squared", 1.0)),
    "hinge": (("hinge", 1.0), ("hinge", -1.0), ("linear", 1.0)),
    "wasserstein": (("linear", 1.0), ("linear", -1.0), ("linear", 1.0)),
}
_SMOOTHABLE = ("bce", "squared")  # heads whose real target is a probability-like label


class Engine:
    """Networks, optimizer state, workspaces and RNG of a run; d_step/g_step train one batch."""

    def __init__(self, config, backend):
        self.cfg = cfg = config
        self.be = trusted(backend)  # its buffers fit together: no per-call checks
        self.dtype = dt = np.dtype(cfg.dtype)
        self.rng = np.random.default_rng(cfg.seed)
        self.G = MLP(cfg.g_sizes, cfg.g_activation, cfg.g_output, cfg.alpha, dt)
        self.D = MLP(cfg.d_sizes, cfg.d_activation, "linear", cfg.alpha, dt)
        self.G.init(self.rng, cfg.weight_init)
        self.D.init(self.rng, cfg.weight_init)
        self.G_ema = None
        if cfg.ema > 0:
            self.G_ema = MLP(cfg.g_sizes, cfg.g_activation, cfg.g_output, cfg.alpha, dt)
            self.G_ema.params[...] = self.G.params
        self.opt = {name: _OptState(net.params, cfg.net_learning_rate(name), cfg.optimizer)
                    for name, net in (("G", self.G), ("D", self.D))}
        self._buffers(cfg, dt)
        half = cfg.batch_size // cfg.pack
        # the loss heads' weight: a batch mean, or the NumPy tutorial's batch sum; the
        # reported losses are means either way
        self.weight = 1.0 if cfg.loss_reduction == "sum" else 1.0 / half
        self.to_mean = 1.0 / (half * self.weight)
        self.heads = [(HEADS[h], t) for h, t in LOSS_HEADS[cfg.loss]]
        if LOSS_HEADS[cfg.loss][0][0] in _SMOOTHABLE:
            self.heads[0] = (self.heads[0][0], 1.0 - cfg.label_smoothing)

    def _buffers(self, cfg, dt):
        n, f, C, P = cfg.batch_size, cfg.d_layers[0], cfg.n_classes, cfg.pack
        self.n, self.f, self.C, self.P = n, f, C, P
        self.gw = Workspace(self.G, n)
        self.dw = Workspace(self.D, 2 * n // P, cfg.dropout, first_input_grad=True)
        self.x_d = np.zeros((2 * n, f + C), dt)
        self.x_dv = self.x_d.reshape(2 * n // P, P * (f + C))  # what D sees
        self.direct = C == 0 and cfg.instance_noise == 0
        if self.direct:  # G writes its samples straight into the fake half of D's input
            self.gw.outs[-1] = self.gw.hs[-1] = self.x_d[n:]
        self.g_dout = np.zeros((n, f), dt)
        self.z = np.zeros((n, cfg.g_sizes[0]), dt)
        self.noise = np.zeros((2 * n, f), dt) if cfg.instance_noise else None
        self.labels = np.zeros(2 * n, np.int64)
        fake = slice(n // P, 2 * n // P)  # D's rows of the fake half
        self._spans = {"D": mask_spans(self.dw, slice(None)), "D fake": mask_spans(self.dw, fake)}
        # the draws and rows of the batch's inputs in one call (_inputs), and the data
        # whose inputs the compiled D update forms from them (`helping`)
        self._raw = np.zeros(batch_draws(n, cfg.g_layers[0], C, dt), np.uint64)
        self._idx = np.zeros(n, np.int64)
        self._fused = None
        self._compiled = None  # the compiled step's pass arguments, made on first use
        self._crew = None  # the compiled updates and their helpers (`helping`)
        self._trials = None  # of the crews' ways, shared by this engine's crews

    # --- the training step ----------------------------------------------------------
    def d_step(self, data, idx, labels=None):
        """Update D on real rows data[idx] (labels[idx] when conditional) and a fresh fake
        batch; return D's loss."""
        crew = self._crew
        if crew is not None and crew.engaged and data is self._fused:
            # the draws of _inputs, which the compiled update turns into the inputs
            self._raw[:] = self.rng.bit_generator.random_raw(self._raw.size)
            self._idx[:] = idx
        else:
            self._inputs(data, idx, labels)
        if self.noise is not None:
            draw_noise(self.rng, "normal", self.noise, self.be.normals_from_raw)
            self.noise *= self.cfg.instance_noise
        key = self._mask_key()
        step = self._step("D", clip=self.cfg.clip)
        (hr, tr), (hf, tf) = self.heads[0], self.heads[1]
        if crew is not None:
            crew.start()
            if crew.engaged:  # the whole update in one compiled call
                return crew.update(D_UPDATE, step or no_update(self.dtype), key) * self.to_mean
        self._draw_masks("D", key)
        fake = forward(self.be, *self._pass("G"))
        if self.noise is not None:
            self.x_d[self.n:, :self.f] = fake
            self.x_d[:, :self.f] += self.noise
        logits = forward(self.be, *self._pass("D"))
        dlogits, half = self.dw.grads[-1], self.n // self.P
        loss = self.be.loss_head(logits[:half], hr, tr, self.weight, dlogits[:half])
        loss += self.be.loss_head(logits[half:], hf, tf, self.weight, dlogits[half:])
        backward(self.be, *self._pass("D'"), step=step)
        return loss * self.to_mean

    def _inputs(self, data, idx, labels):
        """The batch's real rows, G's noise and, when conditional, the labels (real ones,
        fake ones drawn) and their one-hot columns in z and x_d. One kernel call for uint8
        pixels and normal noise without latent codes (kernels.inputs), else a call for
        each; the same draws in the same order either way."""
        n, cfg = self.n, self.cfg
        if self._one_call(data):
            nz = cfg.g_layers[0]
            raw = self.rng.bit_generator.random_raw(self._raw.size)
            self.be.batch_inputs(raw, data, idx, labels if self.C else self.labels[:0],
                                 self.z, nz, self.x_d, self.labels)
            return
        self._gather(data, idx, self.x_d[:n])
        draw_latent(self.rng, cfg, self.z[:, :cfg.z_width], self.be.normals_from_raw)
        if self.C:
            reference.batch_labels(self.rng.bit_generator.random_raw(n), labels, idx,
                                   self.z[:, cfg.z_width:], self.x_d[:, self.f:], self.labels)

    def _one_call(self, data):
        """Whether a batch of `data` takes its inputs in one call (kernels.inputs)."""
        return data.dtype == np.uint8 and self.cfg.noise == "normal" and not self.cfg.latent_codes

    def g_step(self):
        """Update G through D on the fake rows of the last d_step; return G's loss."""
        half = self.n // self.P
        key = self._mask_key()
        ema = {} if self.G_ema is None else dict(decay=self.cfg.ema, average=self.G_ema.params)
        step = self._step("G", **ema)
        head, target = self.heads[2]
        crew = self._crew
        if crew is not None and crew.engaged:
            loss = crew.update(G_UPDATE, step or no_update(self.dtype), key) * self.to_mean
        else:
            self._draw_masks("D fake", key)
            logits = forward(self.be, *self._pass("D fake"))
            dlogits = self.dw.grads[-1][half:2 * half]
            loss = self.be.loss_head(logits, head, target, self.weight, dlogits) * self.to_mean
            backward(self.be, *self._pass("D' fake"))
            backward(self.be, *self._pass("G'"), step=step)
        if crew is not None:
            crew.finish()
        return loss

    def _mask_key(self):
        """The seed of fresh dropout masks for D's next pass: one raw draw (0, and no draw,
        without dropout). The masks are formed from it (kernels.masks) by the compiled
        update, or by `_draw_masks`."""
        return self.rng.bit_generator.random_raw() if self.dw.dropout else 0

    def _draw_masks(self, name, key):
        """The dropout masks of D's pass `name` ("D" or "D fake") from the seed `key`."""
        if self.dw.dropout:
            self.be.stream_masks(key, self.cfg.dropout, self.dw.hidden_masks, self._spans[name])

    def _pass(self, name):
        """The arguments of nets.forward or nets.backward (but the backend) for a pass of
        the step: "G" and "D" forward, "D'" backward (D's update), "D fake" and "D' fake"
        on the fake rows and "G'" (G's update)."""
        n, half = self.n, self.n // self.P
        fake = slice(half, 2 * half)
        if name == "G":  # G's samples go straight into D's input: in place, or copied
            # there by the pass when a conditional D's label columns follow them
            into = self.x_d if self.C and self.noise is None else None
            return self.G, self.gw, self.z, slice(None), into, n
        if name == "D":
            return self.D, self.dw, self.x_dv, slice(None)
        if name == "D'":
            return self.D, self.dw, self.x_dv, self.dw.grads[-1], slice(None), True
        if name == "D fake":
            return self.D, self.dw, self.x_dv[fake], fake
        if name == "D' fake":
            return self.D, self.dw, self.x_dv[fake], self.dw.grads[-1][fake], fake, False, True
        # D's input gradient on the fake rows, as (n, f + C) rows: G's upstream gradient is
        # their first f columns, which the pass reads in place when labels follow them
        dfake = self.dw.dx0.reshape(2 * n, self.f + self.C)
        dout, source = (dfake[n:], None) if self.direct else (self.g_dout, dfake)
        return self.G, self.gw, self.z, dout, slice(None), True, False, source, n

    def _noisy(self):
        """D's input and the instance noise on it (empty without), as kernels.step takes
        them."""
        return self.x_d, self.dw.empty if self.noise is None else self.noise

    @contextlib.contextmanager
    def helping(self, data=None, labels=None):
        """While the block trains, the D and G updates run as one compiled call each, with
        helper threads (kernels.crew): one fewer than the threads Numba may use, none where
        no layer is worth splitting. Without such a block, or on a backend without a crew,
        the step is made of calls. The D update also forms the inputs of batches of `data`
        (and `labels`) that take them in one call (_inputs). Yields the crew (None
        without)."""
        if not hasattr(self.be, "Crew"):
            yield None
            return
        passes = self._passes()
        split = any(args[-1][:, PARALLEL].any() for args in passes.values())
        updates = [(net.params, net.grads, self.opt[name].m, self.opt[name].v, net.params[:0])
                   for name, net in (("D", self.D), ("G", self.G))]
        if self.G_ema is not None:
            updates[1] = (*updates[1][:4], self.G_ema.params)
        heads = (*self.heads[0], *self.heads[1])
        masking = (self.cfg.dropout if self.dw.dropout else 0.0, self._spans["D"],
                   self._spans["D fake"])
        fused = data is not None and self._one_call(data)
        if not fused:  # an empty batch: no inputs to form
            data = np.zeros((0, self.f), np.uint8)
        parts = batch_parts(self._raw, data, self._idx if fused else self._idx[:0],
                            labels if fused and self.C else self.labels[:0], self.z,
                            self.cfg.g_layers[0], self.x_d, self.labels)
        crew = self.be.Crew(numba.get_num_threads() - 1 if split else 0, passes, *updates,
                            heads, self.heads[2], self.weight, self._noisy(), masking, parts,
                            self._trials)
        self._trials = crew.trials
        with crew:
            self._crew, self._fused = crew, data if fused else None
            try:
                yield crew
            finally:
                self._crew, self._fused = None, None

    def _passes(self):
        """The compiled step's pass arguments (nets.forward_args, backward_args) by name:
        the same buffers every step, so made once."""
        if self._compiled is None:
            self._compiled = {name: (backward_args if "'" in name else forward_args)(
                *self._pass(name)) for name in ("G", "D", "D'", "D fake", "D' fake", "G'")}
        return self._compiled

    def _gather(self, data, idx, rows):
        """rows[:, :f] = data[idx], the real rows of a batch; uint8 pixels scaled to
        [-1, 1]. `rows` are whole rows of D's input (the gather kernel vectorises on them)."""
        if data.dtype == np.uint8:
            self.be.gather_scaled(data, idx, rows)
        elif self.direct:  # "clip" spares take a buffered copy; idx is always in range
            np.take(data, idx, axis=0, out=rows, mode="clip")
        else:
            rows[:, :self.f] = data[idx]

    def prefetch(self, data, idx):
        """Start loading real rows data[idx], the next d_step's, into the CPU's caches (a
        hint: its gather then reads them from cache instead of memory)."""
        self.be.prefetch_rows(data, idx)

    def _step(self, name, **more):
        """The optimizer step of network `name` ("G" or "D") for `backward` to apply, counting
        Adam's steps; `more`: clip, or an EMA's decay and average (kernels.optim.update)."""
        opt, cfg, net = self.opt[name], self.cfg, getattr(self, name)
        if cfg.optimizer == "sgd":
            return sgd(net, opt.learning_rate, **more)
        opt.t += 1
        return adam(net, opt.m, opt.v, opt.t, opt.learning_rate, cfg.beta1, cfg.beta2, cfg.eps,
                    **more)

    def end_epoch(self, epoch):
        """Set the next epoch's learning rates, for SGD and Adam alike: the NumPy tutorial's
        lr <- lr / (1 + decay_rate * epoch), then the cut of learning_rate_schedule (if any)
        that starts at epoch + 1."""
        cuts = [f for start, f in self.cfg.learning_rate_schedule if start == epoch + 1]
        for opt in self.opt.values():
            opt.learning_rate /= (1.0 + self.cfg.decay_rate * epoch)
            for factor in cuts:
                opt.learning_rate *= factor

    def last_batch(self):
        """(fakes (n, features), D's mean probability on the real rows, on the fake rows) of
        the last step; the fake rows' are from the generator step, after D's update."""
        half = self.n // self.P
        p = 1.0 / (1.0 + np.exp(-self.dw.outs[-1][:2 * half, 0].astype(np.float64)))
        return self.gw.outs[-1][:, :self.f], float(p[:half].mean()), float(p[half:].mean())

    # --- sampling -------------------------------------------------------------------
    def generate(self, z, labels=None, chunk=1024):
        """G(z) for noise z (n, nz) and int labels (n,) when conditional, in chunks, without
        touching the training workspaces. Uses the EMA weights when the run keeps them."""
        G = self.G_ema if self.G_ema is not None else self.G
        n = z.shape[0]
        out = np.empty((n, G.sizes[-1]), self.dtype)
        ws = Workspace(G, min(chunk, n), grads=False)  # one, reused by chunks
        zc = np.zeros((min(chunk, n), G.sizes[0]), self.dtype)
        for lo in range(0, n, chunk):
            rows = slice(0, min(chunk, n - lo))
            zc[rows, :z.shape[1]] = z[lo:lo + chunk]
            if self.C:
                reference.one_hot(zc[rows, z.shape[1]:], labels[lo:lo + chunk])
            out[lo:lo + chunk] = forward(self.be, G, ws, zc[rows], rows)
        return out


def draw_noise(rng, kind, out, normals=reference.normals_from_raw):
    """Fill `out` (rows, nz), float32 or float64, with "normal" (standard normal) or "uniform"
    ([-1, 1]) noise; return it. Normal values are `normals` (a backend's normals_from_raw:
    Box and Muller's transform, several times faster than NumPy's ziggurat) of raw draws."""
    if kind == "normal":
        normals(rng.bit_generator.random_raw(normal_draws(out.size, out.dtype)), out)
        return out
    if out.flags.c_contiguous:
        rng.random(dtype=out.dtype.type, out=out)
    else:
        out[...] = rng.random(out.shape, dtype=out.dtype.type)
    out *= 2
    out -= 1
    return out


def draw_latent(rng, config, out, normals=reference.normals_from_raw):
    """Fill `out` (rows, config.z_width) with G's random input: `config.noise` noise (normal
    values through `normals`, as draw_noise), then a one-hot code drawn uniformly from
    `config.latent_codes` (if any); return it."""
    nz, K = config.g_layers[0], config.latent_codes
    draw_noise(rng, config.noise, out[:, :nz], normals)
    if K:
        reference.one_hot(out[:, nz:nz + K], rng.integers(K, size=len(out)))
    return out


class _OptState:
    def __init__(self, params, learning_rate, optimizer):
        self.learning_rate = learning_rate
        self.t = 0
        adam = optimizer == "adam"
        self.m = np.zeros_like(params) if adam else np.zeros(0, params.dtype)
        self.v = np.zeros_like(params) if adam else np.zeros(0, params.dtype)

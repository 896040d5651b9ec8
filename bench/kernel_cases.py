"""Each primitive swept over a reference GAN's layers, at the sizes a training step uses.

A case owns its buffers, drawn from a seed, so two cases built alike (one per backend) see the
same inputs; `outputs()` are what the backends must agree on, `reset()` restores the inputs a
call overwrites, and `flops` is the matrix-product work of one call (0 when there is none).
Dense layers run G at batch rows and D at 2 * batch rows; the optimizer updates both nets'
parameters as one flat buffer.
"""
import numpy as np

from fastgan.backends import get_backend, trusted
from fastgan.kernels import reference as ref
from fastgan.kernels.codes import ACTIVATIONS, HEADS

KERNELS = ("dense_forward", "dense_backward", "loss_head", "optimizer")


def layers(spec, batch):
    """(rows, k, m, act, dropout) per layer: G at batch rows, then D at 2 * batch rows."""
    out = []
    for net, rows in (("g", batch), ("d", 2 * batch)):
        sizes = spec[f"{net}_layers"]
        last = spec.get("g_output", "tanh") if net == "g" else "linear"
        p = spec.get("dropout", 0.0) if net == "d" else 0.0
        for i, (k, m) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            act = spec[f"{net}_activation"] if hidden else last
            out.append((rows, k, m, ACTIVATIONS[act], p if hidden else 0.0))
    return out


class KernelCase:
    """One primitive of `backend` over GAN `spec` at `batch` rows and `dtype`."""

    def __init__(self, kernel, spec, batch, dtype, backend, seed=0):
        self.be = trusted(get_backend(backend))  # as the engine calls them: no checks
        self.alpha = spec["alpha"]
        self.batch = batch
        rng = np.random.default_rng(seed)
        build = {"dense_forward": self._forward, "dense_backward": self._backward,
                 "loss_head": self._loss, "optimizer": self._optimizer}[kernel]
        self.flops = build(rng, spec, np.dtype(dtype))
        self._saved = {id(a): a.copy() for a in self.mutated}

    def reset(self):
        for a in self.mutated:
            a[...] = self._saved[id(a)]

    def outputs(self):
        return self.outs

    # --- builders: fill self.run, self.outs, self.mutated; return the flops of a call -----
    def _forward(self, rng, spec, dt):
        self.layers = [_layer(rng, rows, k, m, act, p, dt)
                       for rows, k, m, act, p in layers(spec, self.batch)]
        self.run, self.mutated = self._run_forward, []
        self.outs = [a for L in self.layers for a in (L["out"], L["h"])]
        return sum(2 * L["x"].shape[0] * L["w"].size for L in self.layers)

    def _run_forward(self):
        for L in self.layers:
            self.be.dense_forward(L["x"], L["w"], L["b"], L["act"], self.alpha, L["mask"],
                                  L["out"], L["h"])

    def _backward(self, rng, spec, dt):
        self._forward(rng, spec, dt)
        self._run_forward_reference()
        g_layers = len(spec["g_layers"]) - 1
        for i, L in enumerate(self.layers):
            first = i in (0, g_layers)  # a net's first layer: no dx, as in d_step
            L["dout"] = rng.standard_normal(L["out"].shape).astype(dt)
            L["dw"], L["db"] = np.zeros_like(L["w"]), np.zeros_like(L["b"])
            L["dx"] = np.zeros((0, 0), dt) if first else np.zeros_like(L["x"])
        self.run = self._run_backward
        self.mutated = [L["dout"] for L in self.layers]
        self.outs = [L[key] for L in self.layers for key in ("dout", "dw", "db", "dx")]
        return sum(2 * L["x"].shape[0] * L["w"].size * (1 + (L["dx"].size > 0))
                   for L in self.layers)

    def _run_forward_reference(self):
        for L in self.layers:
            ref.dense_forward(L["x"], L["w"], L["b"], L["act"], self.alpha, L["mask"],
                              L["out"], L["h"])

    def _run_backward(self):
        for L in self.layers:
            self.be.dense_backward(L["x"], L["w"], L["out"], L["dout"], L["act"], self.alpha,
                                   L["mask"], L["dw"], L["db"], L["dx"])

    def _loss(self, rng, spec, dt):
        n = self.batch
        self.logits = (2 * rng.standard_normal((2 * n, 1))).astype(dt)
        self.dlogits = np.zeros_like(self.logits)
        self.loss = np.zeros(1)
        self.run, self.mutated = self._run_loss, []
        self.outs = [self.dlogits, self.loss]
        return 0

    def _run_loss(self):
        # D's loss as d_step takes it: real rows toward 1, fake rows toward 0
        n, bce, w = self.batch, HEADS["bce"], 1.0 / self.batch
        self.loss[0] = (self.be.loss_head(self.logits[:n], bce, 1.0, w, self.dlogits[:n])
                        + self.be.loss_head(self.logits[n:], bce, 0.0, w, self.dlogits[n:]))

    def _optimizer(self, rng, spec, dt):
        size = sum(k * m + m for _, k, m, _, _ in layers(spec, 1))
        self.p = rng.standard_normal(size).astype(dt)
        self.g = (1e-2 * rng.standard_normal(size)).astype(dt)
        self.m = (1e-3 * rng.standard_normal(size)).astype(dt)
        self.v = (1e-6 * rng.random(size)).astype(dt)
        self.learning_rate = spec["learning_rate"]
        adam = spec["optimizer"] == "adam"
        self.run = self._run_adam if adam else self._run_sgd
        self.mutated = [self.p, self.m, self.v] if adam else [self.p]
        self.outs = list(self.mutated)
        return 0

    def _run_sgd(self):
        self.be.sgd_update(self.p, self.g, self.learning_rate)

    def _run_adam(self):
        b1, b2 = 0.9, 0.999  # step t = 10 of Adam
        self.be.adam_update(self.p, self.g, self.m, self.v, self.learning_rate / (1 - b1 ** 10),
                            b1, b2, 1e-8, 1 / (1 - b2 ** 10))


def _layer(rng, rows, k, m, act, p, dt):
    """Buffers of one dense layer: O(1) inputs, weights scaled by 1/sqrt(k), dropout mask."""
    empty = np.zeros((0, 0), dt)
    mask = ((rng.random((rows, m)) >= p) / (1 - p)).astype(dt) if p else empty
    return {"x": rng.standard_normal((rows, k)).astype(dt),
            "w": (rng.standard_normal((k, m)) / np.sqrt(k)).astype(dt),
            "b": (0.1 * rng.standard_normal(m)).astype(dt), "act": act, "mask": mask,
            "out": np.zeros((rows, m), dt), "h": np.zeros((rows, m), dt) if p else empty}

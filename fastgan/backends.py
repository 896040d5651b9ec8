"""The backend interface: the handful of primitives a training step is made of.

A backend is a namespace of functions with the signatures of `fastgan.kernels.reference`. The
NumPy backend *is* that module; the Numba backend maps the same names to the jitted kernels.
The Numba backend also has PASSES, a whole network's forward or backward pass in one call
(their twin is the per-layer loop of `fastgan.nets.forward` / `backward` over the
primitives), and STEPS: a Crew (kernels.crew) that runs a GAN's whole D or G update in one
call, with helper threads during a run (its twin is the GAN engine's step of calls,
fastgan.engine).
The Numba primitives and passes check their arrays before the compiled code runs
(kernels.checks); `trusted` gives the same backend without those checks, for the GAN
engine, whose buffers fit together by construction and whose step would pay for them every
call.
"""
from types import SimpleNamespace

PRIMITIVES = ("dense_forward", "dense_backward", "loss_head", "sgd_update", "adam_update",
              "ema_update", "clip_update", "gather_scaled", "prefetch_rows", "stream_masks",
              "normals_from_raw", "batch_inputs")
PASSES = ("network_forward", "network_backward")
STEPS = ("Crew",)
BACKENDS = ("numba", "numpy")


def get_backend(name):
    """Return the backend called `name` ("numba" or "numpy") as a namespace of primitives."""
    if name == "numpy":
        from .kernels import reference as ref
        modules = [ref]
    elif name == "numba":
        from .kernels import crew, dense, gather, inputs, losses, masks, network, normal, optim
        modules = [crew, dense, gather, inputs, losses, masks, network, normal, optim]
    else:
        raise ValueError(f"backend={name!r} is not known; use one of {', '.join(BACKENDS)}")
    found = {}
    for module in modules:
        found.update({p: getattr(module, p) for p in PRIMITIVES + PASSES + STEPS
                      if hasattr(module, p)})
    return SimpleNamespace(name=name, **found)


def trusted(backend):
    """`backend` with each primitive's unchecked twin, where it has one."""
    return SimpleNamespace(**{name: getattr(fn, "unchecked", fn)
                              for name, fn in vars(backend).items()})

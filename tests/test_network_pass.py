"""Whole-network passes in one compiled call (kernels/network.py) against their twins: the
per-layer loop over the same Numba kernels (bit for bit: the same blocks in the same order)
and over the NumPy reference kernels (to the kernels' tolerances)."""
import re
from types import SimpleNamespace

import numpy as np
import pytest

from fastgan import threads
from fastgan.backends import PASSES, get_backend, trusted
from fastgan.kernels.checks import KernelArgumentError
from fastgan.kernels.codes import ACTIVATIONS
from fastgan.nets import MLP, Workspace, adam, backward, forward, sgd
from helpers import ALPHA, DROPOUT, DTYPES, TOL

NUMBA = get_backend("numba")
PER_LAYER = SimpleNamespace(**{k: v for k, v in vars(NUMBA).items() if k not in PASSES})
NUMPY = get_backend("numpy")

# (rows, sizes): batch 1, odd widths cut into uneven blocks, a layer wide enough to be cut
# into columns, one of one layer, and a deep narrow one
NETS = [(1, [3, 5, 1]), (7, [33, 65, 17, 1]), (64, [100, 128, 784]), (128, [794, 256, 1]),
        (5, [9, 4]), (130, [2, 8, 8, 8, 2])]
HIDDEN = ["relu", "leaky_relu", "linear", "tanh"]
OUTPUT = list(ACTIVATIONS)


@pytest.fixture(scope="module", autouse=True)
def numba_threads():
    with threads.thread_settings("numba"):
        yield


def setup(rows, sizes, hidden, output, dtype, dropout, seed=0):
    """A net with random weights, a workspace with dropout masks drawn, an input and an
    upstream gradient."""
    rng = np.random.default_rng([rows, *sizes, ACTIVATIONS[hidden], ACTIVATIONS[output]])
    net = MLP(sizes, hidden, output, ALPHA, dtype)
    net.init(rng)
    net.params[...] += 0.1 * rng.standard_normal(net.params.size)  # non-zero biases
    ws = Workspace(net, rows, DROPOUT if dropout else 0.0, first_input_grad=True)
    for mask in ws.masks:
        if mask.size:
            mask[...] = (rng.random(mask.shape) >= DROPOUT) / (1 - DROPOUT)
    x = rng.standard_normal((rows, sizes[0])).astype(dtype)
    up = rng.standard_normal((rows, sizes[-1])).astype(dtype)
    return net, ws, x, up


def run(be, rows, sizes, hidden, output, dtype, dropout, want_dw, want_dx, part=None):
    """Forward then backward on the rows `part` (default all) with backend `be`; return
    every array the passes write."""
    net, ws, x, up = setup(rows, sizes, hidden, output, dtype, dropout)
    part = part or slice(None)
    out = forward(be, net, ws, x[part], part).copy()
    dout = up[part].copy()
    backward(be, net, ws, x[part], dout, part, want_dw=want_dw, want_dx=want_dx)
    return {"out": out, "dz": dout, "dW": net.grads.copy(), "dx": ws.dx0.copy(),
            **{f"h{l}": h.copy() for l, h in enumerate(ws.hs)},
            **{f"grad{l}": g.copy() for l, g in enumerate(ws.grads[:-1])}}


@pytest.mark.parametrize("want_dw, want_dx", [(True, False), (False, True)])
@pytest.mark.parametrize("dropout", [False, True], ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUT)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("rows, sizes", NETS)
def test_network_pass_equals_per_layer_kernels_and_reference(rows, sizes, hidden, output,
                                                             dtype, dropout, want_dw, want_dx):
    args = rows, sizes, hidden, output, dtype, dropout, want_dw, want_dx
    got = run(NUMBA, *args)
    per_layer = run(PER_LAYER, *args)
    reference = run(NUMPY, *args)
    for name, a in got.items():
        np.testing.assert_array_equal(a, per_layer[name], err_msg=f"{name} vs per-layer")
        # dW sums a whole batch of products and reaches ~50 here: the rounding of an entry
        # that cancels to near zero scales with that size, not with 1
        scale = max(1.0, float(np.abs(reference[name]).max(initial=0)))
        np.testing.assert_allclose(a, reference[name], err_msg=f"{name} vs reference",
                                   rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_pass_on_a_row_range_leaves_other_rows_alone(dtype):
    """The generator step runs D on the fake half of its rows only."""
    rows, sizes, part = 64, [33, 65, 1], slice(32, 64)
    got = run(NUMBA, rows, sizes, "leaky_relu", "linear", dtype, True, True, True, part)
    per_layer = run(PER_LAYER, rows, sizes, "leaky_relu", "linear", dtype, True, True, True,
                    part)
    for name, a in got.items():
        np.testing.assert_array_equal(a, per_layer[name], err_msg=name)
    assert (got["h0"][:32] == 0).all() and (got["dx"][:32] == 0).all()


def test_workspace_keeps_one_plan_per_row_range():
    net, ws, x, _ = setup(64, [33, 65, 1], "leaky_relu", "linear", np.float32, False)
    assert ws.formed_plans() == []
    for part in (slice(None), slice(32, 64), slice(None)):
        forward(NUMBA, net, ws, x[part], part)
    plans = ws.formed_plans()
    assert len(plans) == 2 and [p.shape for p in plans] == [(2, 12), (2, 12)]
    assert plans[0] is ws.plan(net, slice(None)) and plans[1] is ws.plan(net, slice(32, 64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_hidden_tanh_and_sigmoid_run_in_the_network_pass(dtype):
    for hidden in ("tanh", "sigmoid"):
        args = 5, [4, 6, 7, 1], hidden, "sigmoid", dtype, True, True, True
        got, per_layer, reference = run(NUMBA, *args), run(PER_LAYER, *args), run(NUMPY, *args)
        for name, a in got.items():
            np.testing.assert_array_equal(a, per_layer[name], err_msg=f"{hidden} {name}")
            np.testing.assert_allclose(a, reference[name], err_msg=f"{hidden} {name}",
                                       **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_pass_bit_identical_for_any_thread_count(dtype):
    counts = sorted({1, threads.available_cores()})
    results = []
    for count in counts:
        with threads.thread_settings("numba", threads=count):
            results.append(run(NUMBA, 130, [129, 131, 65, 1], "leaky_relu", "linear", dtype,
                               True, True, True))
    for name, a in results[0].items():
        for other in results[1:]:
            np.testing.assert_array_equal(other[name], a, err_msg=name)


def test_one_compiled_pass_serves_networks_of_any_depth():
    """The passes take flat buffers and a plan table, so their signature, and so their
    compiled code, does not depend on the number of layers."""
    for sizes in ([5, 7, 3], [5, 7, 9, 3], [5, 7, 9, 11, 6, 3]):
        run(NUMBA, 4, sizes, "relu", "tanh", np.float32, True, True, True)
    for name in PASSES:
        copies = [sig for sig in getattr(NUMBA, name).unchecked.signatures
                  if str(sig[0]) == "array(float32, 2d, C)"]  # x's type
        assert len(copies) == 1, f"{name} compiled {len(copies)} times for float32 inputs"


# An optimizer step taken by the backward pass, as each block's gradients are formed: every
# kind of update, alone and with clipping and an EMA.
STEPS = {"sgd": dict(), "adam": dict(), "sgd_clip": dict(clip=0.05),
         "adam_clip_ema": dict(clip=0.05, decay=0.9)}


def run_step(be, rows, sizes, dtype, name):
    """Forward, then backward with the optimizer step `name` of STEPS; return the arrays
    the step writes."""
    net, ws, x, up = setup(rows, sizes, "leaky_relu", "tanh", dtype, True)
    rng = np.random.default_rng(len(sizes))
    m, v = 0.1 * rng.standard_normal((2, net.params.size)).astype(dtype)
    v = np.abs(v)
    average = net.params[::-1].copy() if "ema" in name else None
    more = dict(STEPS[name], average=average)
    if name.startswith("adam"):
        step = adam(net, m, v, 3, 1e-2, 0.5, 0.999, 1e-8, **more)
    else:
        step = sgd(net, 0.05, **more)
    forward(be, net, ws, x)
    backward(be, net, ws, x, up.copy(), want_dw=True, want_dx=True, step=step)
    return {"params": net.params, "dW": net.grads, "dx": ws.dx0, "m": m, "v": v,
            "average": average if average is not None else m[:0]}


@pytest.mark.parametrize("name", list(STEPS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, sizes", NETS)
def test_update_in_the_backward_pass_equals_update_after_it(rows, sizes, dtype, name):
    """The compiled pass updates each block of a layer's parameters right after its
    gradients: the same values as the per-layer pass followed by the separate update
    kernels (bit for bit) and as NumPy's twins (to the kernels' tolerances); dx is formed
    from the weights before the update."""
    got = run_step(NUMBA, rows, sizes, dtype, name)
    per_layer = run_step(PER_LAYER, rows, sizes, dtype, name)
    reference = run_step(NUMPY, rows, sizes, dtype, name)
    before = setup(rows, sizes, "leaky_relu", "tanh", dtype, True)[0].params
    assert not np.array_equal(got["params"], before)
    for key, a in got.items():
        np.testing.assert_array_equal(a, per_layer[key], err_msg=f"{key} vs per-layer")
        scale = max(1.0, float(np.abs(reference[key]).max(initial=0)))
        np.testing.assert_allclose(a, reference[key], err_msg=f"{key} vs reference",
                                   rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, sizes", [(1, [3, 5, 1]), (7, [33, 65, 17]),
                                         (64, [110, 256, 784])])
def test_passes_copy_the_output_to_and_read_dout_from_rows_of_another_array(rows, sizes,
                                                                            dtype):
    """A conditional GAN's G: its output copied into D's input rows, whose label columns
    follow, and its upstream gradient read from D's input gradient. The same numbers as
    copying by hand, bit for bit (per-layer twin) and to the kernels' tolerances (NumPy),
    and nothing outside those rows and columns is touched."""
    width, at = sizes[-1] + 3, rows + 1
    results = {}
    for name, be in (("numba", NUMBA), ("per_layer", PER_LAYER), ("numpy", NUMPY)):
        net, ws, x, up = setup(rows, sizes, "leaky_relu", "tanh", dtype, dropout=True)
        into = np.full((at + rows + 2, width), np.nan, dtype)
        out = forward(be, net, ws, x, copy_to=into, copy_at=at).copy()
        source = np.full((at + rows, width), np.nan, dtype)
        source[at:, :sizes[-1]] = up
        dz = np.full_like(up, np.nan)
        step = adam(net, np.zeros_like(net.params), np.zeros_like(net.params), 1, 1e-3, 0.5,
                    0.999, 1e-8)
        backward(be, net, ws, x, dz, want_dw=True, step=step, dout_from=source, dout_at=at)
        results[name] = dict(into=into, out=out, dz=dz, params=net.params.copy(),
                             grads=net.grads.copy())
        np.testing.assert_array_equal(into[at:at + rows, :sizes[-1]], out)
        rest = np.ones(into.shape, bool)
        rest[at:at + rows, :sizes[-1]] = False
        assert np.isnan(into[rest]).all() and np.isnan(source[:at]).all()
        np.testing.assert_array_equal(source[at:, :sizes[-1]], up)  # read, not written
    # the same as the plain passes, with the gradient handed over in dout itself
    net, ws, x, up = setup(rows, sizes, "leaky_relu", "tanh", dtype, dropout=True)
    plain_out = forward(NUMBA, net, ws, x).copy()
    dout = up.copy()
    backward(NUMBA, net, ws, x, dout, want_dw=True,
             step=adam(net, np.zeros_like(net.params), np.zeros_like(net.params), 1, 1e-3, 0.5,
                       0.999, 1e-8))
    np.testing.assert_array_equal(results["numba"]["out"], plain_out)
    np.testing.assert_array_equal(results["numba"]["dz"], dout)
    np.testing.assert_array_equal(results["numba"]["params"], net.params)
    for key, a in results["numba"].items():
        np.testing.assert_array_equal(a, results["per_layer"][key], err_msg=key)
        scale = max(1.0, float(np.nanmax(np.abs(results["numpy"][key]), initial=0)))
        np.testing.assert_allclose(a, results["numpy"][key], err_msg=key, equal_nan=True,
                                   rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)


def test_an_update_needs_the_gradients():
    net, ws, x, up = setup(3, [4, 5, 1], "relu", "linear", np.float64, False)
    forward(NUMBA, net, ws, x)
    with pytest.raises(ValueError, match="want_dw=True"):
        backward(NUMBA, net, ws, x, up, want_dx=True, step=sgd(net, 0.1))


def _pass_args(dtype="float32"):
    """Arguments of a valid forward and backward pass (dropout on), as dicts to spoil."""
    net, ws, x, up = setup(7, [33, 65, 17, 1], "relu", "tanh", dtype, dropout=True)
    plan = ws.plan(net, slice(None))
    both = dict(x=x, params=net.params, alpha=net.alpha, outs=ws.hidden_outs,
                masks=ws.hidden_masks, hs=ws.hidden_hs, last=ws.outs[-1])
    fwd = dict(both, copy_to=ws.empty, copy_at=0, plan=plan)  # in the pass's argument order
    m, v = np.zeros_like(net.params), np.zeros_like(net.params)
    bwd = dict(both, grads=ws.hidden_grads, dparams=net.grads, dout=up, dout_from=ws.empty,
               dout_at=0, dx0=ws.dx0, plan=plan,
               step=adam(net, m, v, 1, 1e-3, 0.5, 0.999, 1e-8))
    return net, fwd, bwd


def _spoiled(args, **changes):
    return list({**args, **changes}.values())


@pytest.mark.parametrize("change, text", [
    (lambda a, n: dict(plan=a["plan"].astype(float)), "plan must be a table"),
    (lambda a, n: dict(x=a["x"][:, :-1]), "the plan does not fit x"),
    (lambda a, n: dict(params=a["params"][:-1]), "params holds"),
    (lambda a, n: dict(outs=a["outs"][:-1]), "outs holds"),
    (lambda a, n: dict(masks=a["masks"][:5]), "masks holds"),
    (lambda a, n: dict(last=a["last"].astype(np.float64)), "must all be float32 or all float64"),
    (lambda a, n: dict(last=a["last"][:3]), "last has shape"),
    (lambda a, n: dict(outs=a["outs"].reshape(1, -1)), "outs must be a flat buffer"),
    (lambda a, n: dict(plan=np.where(np.arange(12) == 4, 9, a["plan"])), "activation=9"),
    (lambda a, n: dict(copy_to=np.zeros((8, 1), np.float32), copy_at=2),
     "copy_to must hold rows 2..8 and 1 columns of float32"),
    (lambda a, n: dict(copy_to=np.zeros((7, 1)), copy_at=0), "of float32; got float64"),
    (lambda a, n: dict(copy_to=np.zeros((7, 1), np.float32), copy_at=-1), "rows -1..5"),
    (lambda a, n: dict(copy_to=np.zeros((0, 0))), "an empty copy_to must be float32"),
])
def test_network_forward_names_arrays_that_do_not_fit(change, text):
    net, fwd, _ = _pass_args()
    with pytest.raises(KernelArgumentError, match=re.escape(text)):
        NUMBA.network_forward(*_spoiled(fwd, **change(fwd, net)))


@pytest.mark.parametrize("change, text", [
    (lambda a, n: dict(dparams=a["dparams"][:-1]), "dparams holds"),
    (lambda a, n: dict(grads=a["grads"][:4]), "grads holds"),
    (lambda a, n: dict(dout=a["dout"][:, :0]), "dout has shape"),
    (lambda a, n: dict(dx0=a["dx0"][:2]), "dx0 has shape"),
    (lambda a, n: dict(step=list(a["step"])), "step must be an UPDATE"),
    (lambda a, n: dict(step=a["step"][:10] + (a["step"][10][:3],) + a["step"][11:]),
     "the update's m must be writable and shaped as params"),
    (lambda a, n: dict(step=sgd(MLP([33, 65, 17, 1], "relu", "tanh", ALPHA, "float32"), 0.1)),
     "must be the pass's params and dparams"),
    (lambda a, n: dict(dout_from=np.zeros((9, 1), np.float32), dout_at=3),
     "dout_from must hold rows 3..9"),
    (lambda a, n: dict(dout_from=np.zeros((7, 2), np.float32)[:, ::2], dout_at=0),
     "dout_from must have adjacent columns"),
])
def test_network_backward_names_arrays_that_do_not_fit(change, text):
    net, _, bwd = _pass_args()
    before = net.params.copy()
    with pytest.raises(KernelArgumentError, match=re.escape(text)):
        NUMBA.network_backward(*_spoiled(bwd, **change(bwd, net)))
    np.testing.assert_array_equal(net.params, before)  # refused before anything ran


def test_network_backward_refuses_to_update_read_only_params():
    net, _, bwd = _pass_args()
    net.params.flags.writeable = False
    with pytest.raises(KernelArgumentError, match="the update's params must be writable"):
        NUMBA.network_backward(*bwd.values())


def test_network_passes_take_valid_arguments_checked_or_not():
    results = []
    for be in (NUMBA, trusted(NUMBA)):
        net, fwd, bwd = _pass_args()
        be.network_forward(*fwd.values())
        be.network_backward(*bwd.values())
        results.append(net.params.copy())
    np.testing.assert_array_equal(*results)

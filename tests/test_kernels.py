"""Each Numba kernel against its plain-NumPy twin in fastgan.kernels.reference."""
import numpy as np
import pytest
from scipy.special import expit, ndtr

from fastgan import threads
from fastgan.data import PIXEL_SCALE
from fastgan.kernels import dense, gather, inputs, losses, masks, network, normal, optim
from fastgan.kernels import reference as ref
from fastgan.kernels.codes import ACTIVATIONS, HEADS
from helpers import ALPHA, DTYPES, TOL, dense_problem, empty, forward_outputs

# (n, k, m): batch 1, odd sizes that cut into uneven blocks of rows (forward, dx) and of
# dw's rows, and very narrow or very wide layers.
SHAPES = [(1, 1, 1), (1, 784, 128), (3, 97, 257), (64, 100, 128), (33, 7, 65),
          (130, 129, 3), (2, 3, 1024), (5, 1024, 1)]
# (want dw and db, want dx): every combination a caller can ask for
WANTS = [(True, True), (True, False), (False, True), (False, False)]


@pytest.fixture(scope="module", autouse=True)
def numba_threads():
    """The kernels call BLAS from every Numba thread: keep BLAS single-threaded."""
    with threads.thread_settings("numba"):
        yield


# --- dense_forward / dense_backward ---------------------------------------------------

def case_rng(n, k, m, act, dtype, dropout):
    """A generator seeded by the case, so each case draws its own data, the same every run."""
    return np.random.default_rng([n, k, m, ACTIVATIONS[act], int(dropout),
                                  int(dtype == np.float32)])


@pytest.mark.parametrize("dropout", [False, True], ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("n, k, m", SHAPES)
def test_dense_forward_matches_reference(n, k, m, act, dtype, dropout):
    rng = case_rng(n, k, m, act, dtype, dropout)
    x, w, b, code, mask = dense_problem(rng, n, k, m, act, dtype, dropout)
    inputs = [a.copy() for a in (x, w, b, mask)]
    want_out, want_h = forward_outputs(x, w, b, code, mask)

    out = np.full((n, m), np.nan, dtype)
    h = np.full((n, m), np.nan, dtype) if dropout else empty(dtype)
    dense.dense_forward(x, w, b, code, ALPHA, mask, out, h)

    np.testing.assert_allclose(out, want_out, **TOL[dtype])
    np.testing.assert_allclose(h, want_h, **TOL[dtype])
    for before, after in zip(inputs, (x, w, b, mask)):
        np.testing.assert_array_equal(after, before)  # inputs are read only


@pytest.mark.parametrize("want_dw, want_dx", WANTS, ids=["dw_dx", "dw", "dx", "dz_only"])
@pytest.mark.parametrize("dropout", [False, True], ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("n, k, m", SHAPES)
def test_dense_backward_matches_reference(n, k, m, act, dtype, dropout, want_dw, want_dx):
    rng = case_rng(n, k, m, act, dtype, dropout)
    x, w, b, code, mask = dense_problem(rng, n, k, m, act, dtype, dropout)
    out, _ = forward_outputs(x, w, b, code, mask)
    upstream = rng.standard_normal((n, m)).astype(dtype)
    inputs = [a.copy() for a in (x, w, out, mask)]

    def run(backward):
        """Fill the wanted gradients with NaN, pass empty arrays for the others."""
        dout = upstream.copy()
        dw = np.full((k, m), np.nan, dtype) if want_dw else empty(dtype)
        db = np.full(m, np.nan, dtype) if want_dw else empty(dtype, 1)
        dx = np.full((n, k), np.nan, dtype) if want_dx else empty(dtype)
        backward(x, w, out, dout, code, ALPHA, mask, dw, db, dx)
        return dout, dw, db, dx

    got = run(dense.dense_backward)
    want = run(ref.dense_backward)
    for name, g, r in zip(("dz", "dw", "db", "dx"), got, want):
        assert g.shape == r.shape, name
        np.testing.assert_allclose(g, r, err_msg=name, **TOL[dtype])
    for before, after in zip(inputs, (x, w, out, mask)):
        np.testing.assert_array_equal(after, before)  # inputs are read only


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dropout", [False, True], ids=["no_dropout", "dropout"])
def test_dense_kernels_fill_row_slices_of_larger_buffers(dtype, dropout):
    """The engine passes row slices (e.g. D's fake half): only those rows may change."""
    rng = np.random.default_rng(7)
    n, k, m = 40, 9, 70
    x, w, b, code, mask = dense_problem(rng, 2 * n, k, m, "tanh", dtype, dropout)
    fake = slice(n, 2 * n)
    out = np.full((2 * n, m), -7.0, dtype)
    h = np.full((2 * n, m), -7.0, dtype) if dropout else empty(dtype)
    rows_mask = mask[fake] if dropout else mask
    dense.dense_forward(x[fake], w, b, code, ALPHA, rows_mask, out[fake],
                        h[fake] if dropout else h)
    want_out, want_h = forward_outputs(x[fake], w, b, code, rows_mask)
    np.testing.assert_allclose(out[fake], want_out, **TOL[dtype])
    assert (out[:n] == -7).all()
    if dropout:
        np.testing.assert_allclose(h[fake], want_h, **TOL[dtype])
        assert (h[:n] == -7).all()

    dout = np.full((2 * n, m), -7.0, dtype)
    dout[fake] = rng.standard_normal((n, m))
    dx = np.full((2 * n, k), -7.0, dtype)
    dout_ref, dx_ref = dout[fake].copy(), np.zeros((n, k), dtype)
    dense.dense_backward(x[fake], w, out[fake], dout[fake], code, ALPHA, rows_mask,
                         empty(dtype), empty(dtype, 1), dx[fake])
    ref.dense_backward(x[fake], w, out[fake], dout_ref, code, ALPHA, rows_mask,
                       empty(dtype), empty(dtype, 1), dx_ref)
    np.testing.assert_allclose(dx[fake], dx_ref, **TOL[dtype])
    np.testing.assert_allclose(dout[fake], dout_ref, **TOL[dtype])
    assert (dx[:n] == -7).all() and (dout[:n] == -7).all()


# odd sizes cut into uneven blocks: rows of a tall batch, columns of a wide layer
@pytest.mark.parametrize("n, k, m", [(131, 129, 65), (37, 129, 131)], ids=["rows", "columns"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_dense_kernels_bit_identical_for_any_thread_count(act, dtype, n, k, m):
    """Blocks follow the core count, not the threads, so threads must not change a single bit."""
    rng = np.random.default_rng(11)
    x, w, b, code, mask = dense_problem(rng, n, k, m, act, dtype, dropout=True)
    upstream = rng.standard_normal((n, m)).astype(dtype)
    counts = sorted({1, min(2, threads.available_cores()), threads.available_cores()})

    def run(count):
        out, h = np.zeros((n, m), dtype), np.zeros((n, m), dtype)
        dout = upstream.copy()
        dw, db = np.zeros((k, m), dtype), np.zeros(m, dtype)
        dx = np.zeros((n, k), dtype)
        with threads.thread_settings("numba", threads=count):
            dense.dense_forward(x, w, b, code, ALPHA, mask, out, h)
            dense.dense_backward(x, w, out, dout, code, ALPHA, mask, dw, db, dx)
        return out, h, dout, dw, db, dx

    first = run(counts[0])
    for count in counts[1:]:
        for name, a, c in zip(("out", "h", "dz", "dw", "db", "dx"), first, run(count)):
            np.testing.assert_array_equal(c, a, err_msg=f"{name}: {count} threads vs 1")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_dense_forward_propagates_nan(act, dtype):
    """A NaN input must reach the output, or the trainer's divergence check misses it."""
    x = np.array([[np.nan, 1.0], [1.0, 1.0]], dtype)
    w, b = np.ones((2, 3), dtype), np.zeros(3, dtype)
    out = np.zeros((2, 3), dtype)
    dense.dense_forward(x, w, b, ACTIVATIONS[act], ALPHA, empty(dtype), out, empty(dtype))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


# --- loss_head --------------------------------------------------------------------------

# Targets the engine uses (engine.LOSS_HEADS), and 0.9 for one-sided label smoothing.
TARGETS = [0.0, 1.0, -1.0, 0.9]
# Sums of n terms: float64 differs only by the summation order (the kernel sums in order, the
# twin pairwise); the float32 kernel evaluates each term in float64 after a float32 exp, the
# twin in float32, so each term differs by a few float32 eps (6e-8): 1e-5 of the sum of |terms|.
LOSS_RTOL = {np.float64: 1e-12, np.float32: 1e-5}
HUGE = [1e4, -1e4, 80.0, -80.0, 40.0, -40.0, 0.0, 1e-3, -1e-3]


def softplus(l):
    """log(1 + e^l) by another route than the kernels (log-sum-exp), in float64."""
    return np.logaddexp(0.0, l)


def independent_loss(head, l, t):
    """Per-logit f(l) and f'(l) in float64, written apart from the kernels."""
    l = l.astype(np.float64)
    f, d = {
        "bce": lambda: (softplus(l) - t * l, expit(l) - t),
        "neg_softplus": lambda: (-softplus(l), -expit(l)),
        "squared": lambda: ((l - t) ** 2 / 2, l - t),
        "hinge": lambda: (np.maximum(1 - t * l, 0), np.where(t * l < 1, -t, 0.0)),
        "linear": lambda: (-t * l, np.full_like(l, -t)),
    }[head]()
    return f, d


def logits_case(case, dtype):
    if case == "huge":
        return np.array(HUGE, dtype)[:, None]
    return (3 * np.random.default_rng(5).standard_normal((64, 1))).astype(dtype)


@pytest.mark.parametrize("case", ["normal", "huge"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("head", list(HEADS))
def test_loss_head_matches_reference(head, target, dtype, case):
    logits = logits_case(case, dtype)
    weight = 1.0 / 7
    d_nb, d_ref = np.full_like(logits, np.nan), np.full_like(logits, np.nan)
    loss_nb = losses.loss_head(logits, HEADS[head], target, weight, d_nb)
    loss_ref = ref.loss_head(logits, HEADS[head], target, weight, d_ref)

    f, d = independent_loss(head, logits, target)
    scale = weight * np.abs(f).sum()
    rtol = LOSS_RTOL[dtype]
    assert np.isfinite(loss_nb) and np.isfinite(d_nb).all()
    np.testing.assert_allclose(loss_nb, loss_ref, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(d_nb, d_ref, **TOL[dtype])
    # both against closed forms: softplus(1e4) = 1e4, sigmoid(-80) = 1.8e-35, ...
    np.testing.assert_allclose(loss_nb, weight * f.sum(), rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(loss_ref, weight * f.sum(), rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(d_nb, weight * d, **TOL[dtype])
    np.testing.assert_allclose(d_ref, weight * d, **TOL[dtype])


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_loss_head_softplus_of_huge_logits_is_exact(backend):
    loss_head = losses.loss_head if backend == "numba" else ref.loss_head
    l = np.array([[1e4], [-1e4]])
    d = np.zeros_like(l)
    # bce with target 0 on 1e4: softplus(1e4) = 1e4 exactly (1e4 + log1p(e^-1e4) = 1e4 + 0)
    assert loss_head(l[:1], HEADS["bce"], 0.0, 1.0, d[:1]) == 1e4
    assert d[0, 0] == 1.0
    # target 1 on -1e4: softplus(-1e4) + 1e4 = 1e4
    assert loss_head(l[1:], HEADS["bce"], 1.0, 1.0, d[1:]) == 1e4
    assert d[1, 0] == -1.0
    assert loss_head(l, HEADS["neg_softplus"], 0.0, 1.0, d) == -1e4
    np.testing.assert_array_equal(d, [[-1.0], [0.0]])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("head", list(HEADS))
def test_loss_head_propagates_nan(head, target):
    logits = np.array([[0.5], [np.nan]])
    assert np.isnan(losses.loss_head(logits, HEADS[head], target, 1.0, np.zeros_like(logits)))


# --- optimizer updates ------------------------------------------------------------------

SIZES = [1, 7, 1000, 100003]
# The updates are elementwise, with no reductions: the kernels cast the scalars to the buffers'
# dtype as NumPy does and run the twins' operations in the twins' order, so in both dtypes
# they must agree bit for bit.


def flat(rng, size, dtype, scale=1.0):
    return (scale * rng.standard_normal(size)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_sgd_update_matches_reference(size, dtype):
    rng = np.random.default_rng([size, 1])
    p, g = flat(rng, size, dtype), flat(rng, size, dtype)
    p_ref, g_before = p.copy(), g.copy()
    optim.sgd_update(p, g, 0.01)
    ref.sgd_update(p_ref, g, 0.01)
    np.testing.assert_array_equal(p, p_ref)
    np.testing.assert_array_equal(g, g_before)


@pytest.mark.parametrize("t", [1, 2, 10, 1000])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_adam_update_matches_reference(size, dtype, t):
    rng = np.random.default_rng([size, t])
    lr, beta1, beta2, eps = 1e-3, 0.5, 0.999, 1e-8
    p, g = flat(rng, size, dtype), flat(rng, size, dtype, 0.1)
    # moments as they stand before step t (zero before the first)
    m = flat(rng, size, dtype, 0.1) if t > 1 else np.zeros(size, dtype)
    v = (flat(rng, size, dtype, 0.1) ** 2).astype(dtype) if t > 1 else np.zeros(size, dtype)
    if size > 1:
        g[0] = 0  # a zero gradient with zero second moment: the update must stay finite
        v[0] = 0
    step_size, c2 = lr / (1 - beta1 ** t), 1 / (1 - beta2 ** t)
    p_ref, m_ref, v_ref = p.copy(), m.copy(), v.copy()
    optim.adam_update(p, g, m, v, step_size, beta1, beta2, eps, c2)
    ref.adam_update(p_ref, g, m_ref, v_ref, step_size, beta1, beta2, eps, c2)
    for name, a, r in zip(("p", "m", "v"), (p, m, v), (p_ref, m_ref, v_ref)):
        np.testing.assert_array_equal(a, r, err_msg=name)
    assert np.isfinite(p).all()


@pytest.mark.parametrize("decay", [0.0, 0.5, 0.999])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_ema_update_matches_reference(size, dtype, decay):
    rng = np.random.default_rng([size, 3])
    avg, p = flat(rng, size, dtype), flat(rng, size, dtype)
    avg_ref, p_before = avg.copy(), p.copy()
    optim.ema_update(avg, p, decay)
    ref.ema_update(avg_ref, p, decay)
    np.testing.assert_array_equal(avg, avg_ref)
    np.testing.assert_array_equal(p, p_before)


@pytest.mark.parametrize("c", [0.01, 1.0])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_clip_update_matches_reference(size, dtype, c):
    rng = np.random.default_rng([size, 4])
    p = flat(rng, size, dtype)
    p[:4] = [c, -c, 0, np.nan][:size]  # the bounds stay put, NaN stays NaN
    p_ref = p.copy()
    optim.clip_update(p, c)
    ref.clip_update(p_ref, c)
    np.testing.assert_array_equal(p, p_ref)
    assert np.nanmax(np.abs(p)) <= np.asarray(c, dtype)
    assert np.isnan(p[3:4]).all()


# --- gather_scaled ----------------------------------------------------------------------

@pytest.mark.parametrize("out_kind", ["rows", "view_of_wider", "wider"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, f", [(1, 1), (7, 784), (64, 784), (33, 3)])
def test_gather_scaled_matches_reference_and_scale_images(n, f, dtype, out_kind):
    """out may be exactly (n, f), a view of a wider array's first f columns, or the wider
    array itself; either way only its first f columns are written."""
    rng = np.random.default_rng([n, f, len(out_kind)])
    data = rng.integers(0, 256, (50, f), dtype=np.uint8)
    data[0, :2] = [0, 255][:f]  # both ends of the scale
    idx = rng.integers(0, 50, n)
    idx[0] = 0
    outs = []
    for kernel in (gather.gather_scaled, ref.gather_scaled):
        buf = np.full((n, f + 3 * (out_kind != "rows")), np.nan, dtype)
        kernel(data, idx, buf[:, :f] if out_kind == "view_of_wider" else buf)
        outs.append(buf)
    np.testing.assert_array_equal(outs[0], outs[1])
    # exactly what scaling the whole set to float64 and casting would give
    np.testing.assert_array_equal(outs[0][:, :f], (data[idx] / 127.5 - 1).astype(dtype))
    assert np.isnan(outs[0][:, f:]).all()  # columns past the data's stay untouched


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_scaled_rounds_every_pixel_value_as_scale_images(dtype, parallel, monkeypatch):
    """The kernel's arithmetic gives, for each of the 256 values, exactly the float64 scaling
    cast to the dtype, on the calling thread and in a parallel region alike."""
    monkeypatch.setattr(gather, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
    data = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = np.empty((16, 16), dtype)
    gather.gather_scaled(data, np.arange(16), out)
    np.testing.assert_array_equal(out.ravel(), PIXEL_SCALE.astype(dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("rows, f", [(1, 1), (7, 13), (300, 784)])
def test_prefetch_rows_changes_nothing_like_its_twin(rows, f, dtype):
    """A cache hint: any rows (first, last, repeated, none) of data of any row length,
    aligned to a cache line or not, and the data and indices are left as they were."""
    data = np.random.default_rng(f).integers(0, 256, (rows, f)).astype(dtype)
    before = data.copy()
    for idx in (np.array([0, rows - 1, rows - 1]), np.arange(rows)[::-1], np.zeros(0, int)):
        kept = idx.copy()
        assert gather.prefetch_rows(data, idx) is None and ref.prefetch_rows(data, idx) is None
        np.testing.assert_array_equal(idx, kept)
    np.testing.assert_array_equal(data, before)


# --- batch_inputs ---------------------------------------------------------------------

@pytest.mark.parametrize("classes", [0, 3, 10])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, width", [(1, 1), (3, 7), (64, 100)])
def test_batch_inputs_equal_their_twin_and_the_calls_they_replace(n, width, dtype, classes):
    rng = np.random.default_rng([n, width, classes])
    data = rng.integers(0, 256, (50, 13), np.uint8)
    labels = rng.integers(0, max(classes, 1), 50) if classes else np.zeros(0, np.int64)
    idx = rng.integers(0, 50, n)
    raw = rng.bit_generator.random_raw(inputs.batch_draws(n, width, classes, dtype))
    results = []
    for kernel in (inputs.batch_inputs, ref.batch_inputs):
        z = np.full((n, width + classes), np.nan, dtype)
        x_d = np.full((2 * n, 13 + classes), np.nan, dtype)
        out_labels = np.full(2 * n, -1, np.int64)
        kernel(raw, data, idx, labels, z, width, x_d, out_labels)
        results.append((z, x_d, out_labels))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
    z, x_d, out_labels = results[0]
    draws = normal.normal_draws(n * width, dtype)
    noise = np.empty((n, width), dtype)
    ref.normals_from_raw(raw[:draws], noise)
    np.testing.assert_array_equal(z[:, :width], noise)
    np.testing.assert_array_equal(x_d[:n, :13], (data[idx] / 127.5 - 1).astype(dtype))
    assert np.isnan(x_d[n:, :13]).all()  # the fake rows' features are G's to write
    if classes:
        fake = ref.labels_from_raw(raw[draws:draws + n], classes)
        np.testing.assert_array_equal(out_labels, np.concatenate([labels[idx], fake]))
        np.testing.assert_array_equal(z[:, width:], np.eye(classes)[fake])
        np.testing.assert_array_equal(x_d[:, 13:], np.eye(classes)[out_labels])


def test_labels_from_raw_cover_the_classes_evenly():
    raw = np.random.default_rng(0).bit_generator.random_raw(100_000)
    for classes in (1, 3, 10):
        labels = ref.labels_from_raw(raw, classes)
        assert labels.dtype == np.int64 and labels.min() == 0 and labels.max() == classes - 1
        share = np.bincount(labels) / raw.size
        assert np.abs(share - 1 / classes).max() < 0.01
    top = np.array([0, 2 ** 63, 2 ** 64 - 1], np.uint64)
    np.testing.assert_array_equal(ref.labels_from_raw(top, 10), [0, 5, 9])


# --- normals_from_raw -------------------------------------------------------------------

def normal_pair(draws, shape, dtype, strided_out=False):
    """The kernel's and its twin's values for `shape` from `draws` (raw 64-bit words)."""
    outs = []
    for kernel in (normal.normals_from_raw, ref.normals_from_raw):
        buf = np.full((shape[0], shape[1] + 3 * strided_out), np.nan, dtype)
        kernel(draws, buf[:, :shape[1]])
        outs.append(buf)
    return outs


@pytest.mark.parametrize("strided_out", [False, True], ids=["rows", "columns_of_wider"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (7, 5), (64, 100), (33, 17)])
def test_normals_match_reference_bit_for_bit(shape, dtype, strided_out):
    rng = np.random.default_rng([*shape, int(strided_out)])
    draws = rng.bit_generator.random_raw(normal.normal_draws(shape[0] * shape[1], dtype) + 2)
    kernel, twin = normal_pair(draws, shape, dtype, strided_out)
    np.testing.assert_array_equal(kernel, twin)
    assert np.isfinite(kernel[:, :shape[1]]).all()
    assert np.isnan(kernel[:, shape[1]:]).all()  # columns past the view stay untouched


@pytest.mark.parametrize("dtype", DTYPES)
def test_normals_do_not_depend_on_the_shape(dtype):
    draws = np.random.default_rng(3).bit_generator.random_raw(normal.normal_draws(60, dtype))
    flat, wide = np.empty((1, 60), dtype), np.empty((6, 10), dtype)
    normal.normals_from_raw(draws, flat)
    normal.normals_from_raw(draws, wide)
    np.testing.assert_array_equal(flat.ravel(), wide.ravel())


@pytest.mark.parametrize("dtype", DTYPES)
def test_normals_are_the_box_muller_transform_to_a_few_ulps(dtype):
    """Against the transform of the same uniforms through NumPy's log, cos and sin in long
    double, every value of 2^16 pairs: within 8 ulps of max(|z|, 1) (4.3 and 5.7 seen for
    float32 and float64; a wrong coefficient costs thousands)."""
    pairs = 1 << 16
    draws = np.random.default_rng(5).bit_generator.random_raw(normal.normal_draws(2 * pairs,
                                                                                  dtype))
    got = np.empty((1, 2 * pairs), dtype)
    normal.normals_from_raw(draws, got)
    if np.dtype(dtype) == np.float32:
        halves = (draws.view(np.uint32) >> 8).astype(np.longdouble)
        u1, u2 = (halves[:pairs] + 1) * 2.0 ** -24, halves[pairs:] * 2.0 ** -24
    else:
        top = (draws >> np.uint64(11)).astype(np.longdouble)
        u1, u2 = (top[:pairs] + 1) * 2.0 ** -53, top[pairs:] * 2.0 ** -53
    r, angle = np.sqrt(-2 * np.log(u1)), 2 * np.pi * u2
    exact = np.concatenate([r * np.cos(angle), r * np.sin(angle)])
    ulp = np.finfo(dtype).eps * np.maximum(np.abs(exact), 1)
    assert np.max(np.abs(got.ravel() - exact) / ulp) <= 8


def test_normals_are_standard_normal():
    """A million float32 values: the mean, the spread, and the share beyond 1, 2, 3 and 4
    standard deviations, each within 5 of its standard errors of the normal law's."""
    n = 1 << 20
    draws = np.random.default_rng(7).bit_generator.random_raw(normal.normal_draws(n, "float32"))
    z = np.empty((1, n), np.float32)
    normal.normals_from_raw(draws, z)
    z = z.ravel().astype(np.float64)
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    for k in (1, 2, 3, 4):
        p = 2 * ndtr(-k)
        assert abs(np.mean(np.abs(z) > k) - p) < 5 * np.sqrt(p * (1 - p) / n), k


def test_normals_need_enough_draws():
    with pytest.raises(ValueError, match="101 normal values of float64 take 102 uint64 draws"):
        normal.normals_from_raw(np.zeros(101, np.uint64), np.empty((1, 101)))


# --- stream_masks -----------------------------------------------------------------------

def _splitmix64(seed, count):
    """SplitMix64's first `count` outputs from `seed`, in Python integers."""
    out, state, mask = [], seed, 2 ** 64 - 1
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return out


def test_splitmix64_twin_gives_the_published_outputs():
    # the first outputs of SplitMix64 seeded with 1234567 (Vigna's reference code)
    assert _splitmix64(1234567, 3) == [6457827717110365317, 3203168211198807973,
                                       9817491932198370423]


SPANS = [[(0, 1)], [(0, 10), (13, 7)], [(5, 771), (800, 4 * masks.PIECE_WORDS + 3),
                                         (9000, 2 * masks.PIECE_WORDS * 4)]]


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spans", SPANS, ids=["one", "two", "pieces"])
def test_stream_masks_match_the_reference_and_splitmix64(spans, dtype, rate, parallel,
                                                          monkeypatch):
    monkeypatch.setattr(masks, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
    spans = np.array(spans, np.int64)
    size = int(spans.sum(axis=1).max()) + 3
    key = (len(spans) * 7919 + int(rate * 10)) * 0x1234567 + 2 ** 63  # high bits in play
    got, want = np.full(size, np.nan, dtype), np.full(size, np.nan, dtype)
    masks.stream_masks(key, rate, got, spans)
    ref.stream_masks(key, rate, want, spans)
    np.testing.assert_array_equal(got, want)
    # span after span, ceil(size / 4) words each, four 16-bit chunks a word, low end first
    count = sum(-(-int(n) // 4) for _, n in spans)
    chunks = [(w >> (16 * c)) & 0xFFFF for w in _splitmix64(key, count) for c in range(4)]
    expect, word = np.full(size, np.nan, dtype), 0
    for start, n in spans:
        kept = np.array(chunks[4 * word:4 * word + n]) >= int(rate * 65536 + 0.5)
        expect[start:start + n] = kept * dtype(1 / (1 - rate))
        word += -(-int(n) // 4)
    np.testing.assert_array_equal(got, expect)


def test_stream_masks_keep_nothing_when_the_rate_rounds_to_one():
    # round(rate * 2^16) = 2^16, above every 16-bit chunk, even 0xFFFF
    for twin in (masks, ref):
        out = np.ones(4000, np.float64)
        twin.stream_masks(3, 1 - 2.0 ** -20, out, np.array([[0, 4000]], np.int64))
        np.testing.assert_array_equal(out, 0)


@pytest.mark.parametrize("twin", [masks, ref], ids=["numba", "numpy"])
def test_stream_masks_keep_one_minus_rate_independently(twin):
    out = np.zeros((2, 200_000), np.float32)
    spans = np.array([[0, 200_000]], np.int64)
    twin.stream_masks(11, 0.3, out[0], spans)
    twin.stream_masks(12, 0.3, out[1], spans)  # the next seed: a different mask
    kept = out > 0
    assert abs(kept.mean() - 0.7) < 0.005
    # neighbours within a mask and the two seeds' masks are uncorrelated
    for a, b in ((kept[0, :-1], kept[0, 1:]), (kept[0, :-4], kept[0, 4:]), (kept[0], kept[1])):
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.01


# --- argument checks --------------------------------------------------------------------

def _f32(*shape):
    return np.zeros(shape, np.float32)


BAD_CALLS = [  # (kernel, arguments, what the error names)
    (dense.dense_forward, lambda: (_f32(4, 3), _f32(5, 2), _f32(2), 0, ALPHA, _f32(0, 0),
                                   _f32(4, 2), _f32(0, 0)), r"w has shape \(5, 2\)"),
    (dense.dense_forward, lambda: (_f32(4, 3), _f32(3, 2), _f32(2), 0, ALPHA, _f32(0, 0),
                                   np.zeros((4, 2)), _f32(0, 0)), "out float64"),
    (dense.dense_forward, lambda: (_f32(4, 3), _f32(3, 2), _f32(2), "relu", ALPHA,
                                   _f32(0, 0), _f32(4, 2), _f32(0, 0)), "act='relu'"),
    (dense.dense_forward, lambda: (_f32(4, 3), _f32(3, 2), _f32(2), 0, ALPHA, _f32(0, 0),
                                   _f32(4, 4)[:, ::2], _f32(0, 0)), "adjacent columns"),
    (dense.dense_backward, lambda: (_f32(4, 3), _f32(3, 2), _f32(4, 2), _f32(4, 2), 0, ALPHA,
                                    _f32(0, 0), _f32(3, 2), _f32(0), _f32(0, 0)),
     "dw and db are wanted together"),
    (dense.dense_backward, lambda: (_f32(4, 3), _f32(3, 2), _f32(4, 2), _f32(4, 2), 0, ALPHA,
                                    _f32(0, 0), _f32(0, 0), _f32(0), _f32(4, 2)),
     r"dx has shape \(4, 2\)"),
    (losses.loss_head, lambda: (_f32(8, 1), 0, 1.0, 1.0, _f32(7, 1)), r"dlogits has shape"),
    (losses.loss_head, lambda: (_f32(8), 0, 1.0, 1.0, _f32(8)), "logits must be 2-D"),
    (losses.loss_head, lambda: (_f32(8, 1), 42, 1.0, 1.0, _f32(8, 1)), "head=42"),
    (optim.adam_update, lambda: (_f32(9), _f32(9), _f32(5), _f32(9), 1e-3, 0.9, 0.999, 1e-8,
                                 1.0), r"m has shape \(5,\)"),
    (optim.sgd_update, lambda: (_f32(3, 3), _f32(3, 3), 0.1), r"p has shape \(3, 3\)"),
    (optim.ema_update, lambda: (_f32(9), np.zeros(9), 0.9), "p float64"),
    (optim.clip_update, lambda: (np.zeros(9, np.int64), 0.1), "p int64"),
    (gather.gather_scaled, lambda: (np.zeros((10, 4), np.uint8), np.array([0, 10]),
                                    _f32(2, 4)), r"idx must lie in 0\.\.9"),
    (gather.gather_scaled, lambda: (np.zeros((10, 4)), np.array([0, 1]), _f32(2, 4)),
     "data must be uint8"),
    (gather.gather_scaled, lambda: (np.zeros((10, 4), np.uint8), np.array([0, 1]),
                                    _f32(2, 3)), r"at least data's 4 columns; got shape \(2, 3\)"),
    (gather.gather_scaled, lambda: (np.zeros((10, 4), np.uint8), np.array([0, 1]),
                                    _f32(3, 4)), r"out must have 2 rows"),
    (masks.stream_masks, lambda: (1, 0.3, _f32(4, 4), np.zeros((0, 2), np.int64)),
     "flat must be a 1-D buffer"),
    (masks.stream_masks, lambda: (1, 0.3, _f32(16), np.array([[10, 7]], np.int64)),
     "every span must lie in flat's 16 values"),
    (masks.stream_masks, lambda: (-1, 0.3, _f32(16), np.zeros((0, 2), np.int64)),
     r"key=-1 must be an integer in \[0, 2\^64\)"),
    (masks.stream_masks, lambda: (1, 1.0, _f32(16), np.zeros((0, 2), np.int64)),
     r"rate=1.0 must lie in \[0, 1\)"),
    (gather.prefetch_rows, lambda: (np.zeros((10, 4), np.uint8), np.array([-1])),
     r"idx must lie in 0\.\.9"),
    (gather.prefetch_rows, lambda: (np.zeros((10, 4), np.uint8)[:, ::2], np.array([0])),
     "C-contiguous"),
    (gather.prefetch_rows, lambda: (np.zeros((10, 4)), np.array([[0]])), "1-D ints"),
    (inputs.batch_inputs, lambda: (np.zeros(9, np.uint64), np.zeros((10, 4)), np.arange(2),
                                   np.zeros(10, np.int64), _f32(2, 5), 3, _f32(4, 6),
                                   np.zeros(4, np.int64)), "data must be uint8"),
    (inputs.batch_inputs, lambda: (np.zeros(4, np.uint64), np.zeros((10, 4), np.uint8),
                                   np.arange(2), np.zeros(10, np.int64), _f32(2, 5), 3,
                                   _f32(4, 6), np.zeros(4, np.int64)), "takes 5 uint64 draws"),
    (inputs.batch_inputs, lambda: (np.zeros(5, np.uint64), np.zeros((10, 4), np.uint8),
                                   np.arange(2), np.full(10, 2, np.int64), _f32(2, 5), 3,
                                   _f32(4, 6), np.zeros(4, np.int64)),
     r"labels must lie in 0\.\.1"),
    (inputs.batch_inputs, lambda: (np.zeros(5, np.uint64), np.zeros((10, 4), np.uint8),
                                   np.arange(2), np.zeros(10, np.int64), _f32(2, 5), 3,
                                   _f32(4, 5), np.zeros(4, np.int64)), r"x_d has shape \(4, 5\)"),
]


@pytest.mark.parametrize("kernel, arguments, text", BAD_CALLS,
                         ids=[f"{k.__name__}-{i}" for i, (k, _, _) in enumerate(BAD_CALLS)])
def test_kernels_name_arrays_that_do_not_fit(kernel, arguments, text):
    with pytest.raises(ValueError, match=text):
        kernel(*arguments())


def test_trusted_backend_skips_the_checks_and_keeps_everything_else():
    from fastgan.backends import get_backend, trusted
    checked = get_backend("numba")
    fast = trusted(checked)
    assert fast.name == "numba" and fast.network_forward is network.network_forward.unchecked
    assert fast.loss_head is losses.loss_head.unchecked
    assert fast.dense_forward is dense.dense_forward.unchecked
    numpy_backend = get_backend("numpy")
    assert vars(trusted(numpy_backend)) == vars(numpy_backend)

"""The GAN step of fastgan's benchmark in JAX: one jax.jit of the whole step, float32.

The step is a pure function of (params, optimizer state, real batch, step number): D
updates on a real and a fake batch (BCE with logits), then G updates through the updated D.
Served to fastgan.peers (see _common.serve).
"""
import os
import sys

from _common import not_installed, one_by_one, parse_args, real_data, serve

if __name__ == "__main__" and "--threads" in sys.argv:
    # XLA's CPU backend takes no thread count (its flags only turn Eigen's pool off, and
    # its dots still ran on every core), so the process is held to that many cores instead
    _threads = int(sys.argv[sys.argv.index("--threads") + 1])
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:_threads])
    if _threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false")

try:
    import jax
    import jax.numpy as jnp
except ImportError as err:
    not_installed("jax", err)

ACTS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "linear": lambda x: x}


def init_mlp(key, sizes):
    """[(w (k, m), b (m,))] with weights scaled like fastgan's He/Xavier initialization."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.random.normal(kk, (k, m), jnp.float32) * jnp.sqrt(2.0 / k),
             jnp.zeros(m, jnp.float32)) for kk, k, m in zip(keys, sizes[:-1], sizes[1:])]


def forward(params, x, hidden, output, alpha, dropout, key):
    """MLP forward; inverted dropout of rate `dropout` after every hidden layer."""
    keys = jax.random.split(key, len(params))
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i == len(params) - 1:
            return activate(x, output, alpha)
        x = activate(x, hidden, alpha)
        if dropout:
            keep = jax.random.bernoulli(keys[i], 1 - dropout, x.shape)
            x = jnp.where(keep, x / (1 - dropout), 0)
    return x


def activate(x, name, alpha):
    if name == "leaky_relu":
        return jax.nn.leaky_relu(x, alpha)
    return ACTS[name](x)


def bce(logits, target):
    """Mean BCE with logits, stable for any |logit|."""
    return jnp.mean(jax.nn.softplus(logits) - target * logits)


def make_update(spec, learning_rate):
    """(init(params) -> state, update(params, grads, state) -> (params, state))."""
    if spec["optimizer"] == "sgd":
        def sgd(params, grads, state):
            return jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads), state
        return lambda params: (), sgd  # SGD keeps no state
    b1, b2, eps = spec["beta1"], spec["beta2"], spec["eps"]

    def adam(params, grads, state):
        m, v, t = state
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        step_size, c2 = learning_rate / (1 - b1 ** t), 1 / (1 - b2 ** t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - step_size * m / (jnp.sqrt(v * c2) + eps), params, m, v)
        return params, (m, v, t)

    def init(params):
        def zeros():
            return jax.tree_util.tree_map(jnp.zeros_like, params)
        return zeros(), zeros(), jnp.float32(0)  # separate buffers: the step donates them

    return init, adam


def make_step(spec, batch):
    """The jitted step(state, i) -> state and its initial state."""
    learning_rate = spec.get("learning_rate", 1e-3)
    a, p = spec["alpha"], spec["dropout"]
    key0 = jax.random.PRNGKey(0)

    def G(gp, z):
        return forward(gp, z, spec["g_activation"], spec["g_output"], a, 0.0, key0)

    def D(dp, x, key):
        return forward(dp, x, spec["d_activation"], "linear", a, p, key)

    g_init, g_update = make_update(spec, spec.get("g_learning_rate") or learning_rate)
    d_init, d_update = make_update(spec, spec.get("d_learning_rate") or learning_rate)
    gp, dp = init_mlp(jax.random.PRNGKey(1), spec["g_layers"]), init_mlp(key0, spec["d_layers"])
    data = jnp.asarray(real_data(spec, batch))
    chunks = data.shape[0] // batch

    def step(state, i):
        gp, dp, gs, ds = state
        kz, kd, kg = jax.random.split(jax.random.fold_in(key0, i), 3)
        real = jax.lax.dynamic_slice_in_dim(data, (i % chunks) * batch, batch)
        z = jax.random.normal(kz, (batch, spec["g_layers"][0]), jnp.float32)

        def d_loss(dp):
            logits = D(dp, jnp.concatenate([real, G(gp, z)]), kd)
            return bce(logits[:batch], 1.0) + bce(logits[batch:], 0.0)

        dp, ds = d_update(dp, jax.grad(d_loss)(dp), ds)

        def g_loss(gp):
            return bce(D(dp, G(gp, z), kg), 1.0)

        gp, gs = g_update(gp, jax.grad(g_loss)(gp), gs)
        return gp, dp, gs, ds

    return jax.jit(step, donate_argnums=0), (gp, dp, g_init(gp), d_init(dp))


def main():
    args = parse_args(__doc__)
    jitted, state = make_step(args.spec, args.batch)
    holder = [state]

    def step(i):
        holder[0] = jax.block_until_ready(jitted(holder[0], i))

    # the cores it runs on: all of them where the process could not be held to fewer
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    serve(one_by_one(step), jax.__version__, cores)


if __name__ == "__main__":
    main()

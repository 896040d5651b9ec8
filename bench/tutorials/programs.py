"""The five tutorials' programs on numpy_gans.py: data, training loop and pictures, as each
tutorial's user runs them (short runs by argument). Pictures go through matplotlib's pyplot
and imageio, as the tutorials draw them."""
import os

import imageio.v2 as imageio
import matplotlib
import numpy as np

from numpy_gans import MLP, SGD, Adam, gan_step

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _grid(images, path):
    """The tutorials' 4x4 figure of 16 images, one subplot each."""
    fig = plt.figure(figsize=(4, 4))
    for i in range(16):
        plt.subplot(4, 4, i + 1)
        plt.imshow(images[i].reshape(28, 28) * 127.5 + 127.5, cmap="gray")
        plt.axis("off")
    fig.savefig(path)
    plt.close(fig)


def _images(x, y, digits, batch, rng):
    keep = np.isin(y, digits) if digits is not None else np.ones(len(y), bool)
    x = x[keep]
    x = x[:len(x) // batch * batch].reshape(-1, 784)
    x = (x.astype(np.float32) - 127.5) / 127.5
    return x[rng.permutation(len(x))]


def numpy_tutorial(x_train, y_train, out_dir, digits=(3,), epochs=100, seed=0, display=5):
    """The NumPy tutorial: G 100-128-784, D 784-128-1, summed gradients, SGD 1e-3 with the
    per-epoch decay 1e-4, a grid every `display` epochs and a GIF. Returns G."""
    rng, batch = np.random.default_rng(seed), 64
    x = _images(x_train, y_train, digits, batch, rng)
    G = MLP([100, 128, 784], "relu", "tanh", 0.0, rng)
    D = MLP([784, 128, 1], "leaky_relu", "linear", 0.01, rng)
    opt_g, opt_d = SGD(1e-3), SGD(1e-3)
    os.makedirs(out_dir, exist_ok=True)
    frames = []
    for epoch in range(epochs):
        for i in range(len(x) // batch):
            z = rng.standard_normal((batch, 100))
            d, g, p_real, p_fake = gan_step(G, D, opt_g, opt_d, x[i * batch:(i + 1) * batch],
                                            z, z, "sum")
        if epoch % display == 0:
            print(f"Epoch:{epoch}|G loss:{g:.4f}|D loss:{d:.4f}|D(G(z))avg:{p_fake:.4f}|"
                  f"D(x)avg:{p_real:.4f}|LR:{opt_g.lr}", flush=True)
            frames.append(os.path.join(out_dir, f"GAN_epoch{epoch}.png"))
            _grid(G.layers[-1].y, frames[-1])
        opt_g.lr = opt_d.lr = opt_g.lr / (1 + 1e-4 * epoch)
    imageio.mimsave(os.path.join(out_dir, "GAN.gif"), [imageio.imread(f) for f in frames])
    return G


def adam_tutorial(x_train, y_train, out_dir, epochs=20, cut=10, seed=0):
    """The Adam tutorial as fastgan's adam-tutorial preset: G 100-200-560-784, D 784-128-1,
    uniform noise, Adam 1e-3 cut 100x from epoch `cut`, a grid per epoch."""
    rng, batch = np.random.default_rng(seed), 64
    x = _images(x_train, y_train, None, batch, rng)
    G = MLP([100, 200, 560, 784], "relu", "tanh", 0.0, rng)
    D = MLP([784, 128, 1], "leaky_relu", "linear", 0.01, rng)
    opt_g, opt_d = Adam(1e-3), Adam(1e-3)
    os.makedirs(out_dir, exist_ok=True)
    for epoch in range(epochs):
        if epoch == cut:
            opt_g.lr = opt_d.lr = 1e-3 * 0.01
        for i in range(len(x) // batch):
            z = rng.uniform(-1, 1, (batch, 100))
            gan_step(G, D, opt_g, opt_d, x[i * batch:(i + 1) * batch], z, z, "mean")
        _grid(G.layers[-1].y, os.path.join(out_dir, f"epoch_{epoch}.png"))
    return G


def pytorch_tutorial(x, out_dir, epochs=50, seed=42):
    """The PyTorch MLP GAN: G 100-256-512-1024-784, D 784-1024-512-256-1 with dropout 0.3,
    leaky relu 0.2, Adam 1e-4, batch 32, fresh noise for G's step, a grid per epoch, on
    images x (n, 784) in [-1, 1]; in float32, PyTorch's default."""
    rng, batch, f32 = np.random.default_rng(seed), 32, np.float32
    x = np.asarray(x, f32)
    G = MLP([100, 256, 512, 1024, 784], "leaky_relu", "tanh", 0.2, rng, dtype=f32)
    D = MLP([784, 1024, 512, 256, 1], "leaky_relu", "linear", 0.2, rng, dropout=0.3, dtype=f32)
    opt_g, opt_d = Adam(1e-4), Adam(1e-4)
    os.makedirs(out_dir, exist_ok=True)

    def noise():
        return rng.standard_normal((batch, 100), dtype=f32)

    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for i in range(len(x) // batch):
            gan_step(G, D, opt_g, opt_d, x[order[i * batch:(i + 1) * batch]], noise(), noise(),
                     "mean")
        _grid(G.forward(noise(), train=False),
              os.path.join(out_dir, f"generated_image_samples_{epoch}.png"))
    return G


def toy_2d_tutorial(out_dir, epochs=5000, seed=0, every=250):
    """The TensorFlow toy: 1,000 points on y = x^2 + 5, G 2-10-10-2 and D 2-10-10-1 with leaky
    relu 0.2, uniform noise, Adam 1e-3, batch 256 (with the short last batch), a scatter of
    real against generated points every `every` epochs."""
    rng, batch = np.random.default_rng(seed), 256
    xs = 10 * (rng.random(1000) - 0.5)
    data = np.stack([xs, xs ** 2 + 5], axis=1)
    G = MLP([2, 10, 10, 2], "leaky_relu", "linear", 0.2, rng)
    D = MLP([2, 10, 10, 1], "leaky_relu", "linear", 0.2, rng)
    opt_g, opt_d = Adam(1e-3), Adam(1e-3)
    os.makedirs(out_dir, exist_ok=True)
    batches = [data[i:i + batch] for i in range(0, len(data), batch)]
    for epoch in range(epochs):
        for real in batches:
            z = rng.uniform(-1, 1, (len(real), 2))
            gan_step(G, D, opt_g, opt_d, real, z, z, "mean")
        if epoch % every == 0 or epoch == epochs - 1:
            fake = G.forward(rng.uniform(-1, 1, (len(data), 2)), train=False)
            fig = plt.figure()
            plt.plot(data[:, 0], data[:, 1], "o")
            plt.plot(fake[:, 0], fake[:, 1], "o")
            plt.title(f"Epoch {epoch}")
            fig.savefig(os.path.join(out_dir, f"gen_data_{epoch}.png"), bbox_inches="tight")
            plt.close(fig)
    return G


def toy_1d_tutorial(out_path, steps=400, seed=42):
    """The NumPy 1-D toy: G 4-16-16-1 and D 1-16-16-1, relu hidden, sigmoid outputs, plain
    gradient steps of 0.005 on 64 fresh bimodal samples a step; the losses with the ln 2
    line beside histograms of real and generated samples."""
    rng = np.random.default_rng(seed)
    G = MLP([4, 16, 16, 1], "relu", "sigmoid", 0.0, np.random.default_rng(0))
    D = MLP([1, 16, 16, 1], "relu", "linear", 0.0, np.random.default_rng(1))
    opt_g, opt_d = SGD(0.005), SGD(0.005)

    def real_samples(n):
        return rng.choice([-2.0, 2.0], n)[:, None] + rng.normal(0, 0.3, (n, 1))

    d_losses, g_losses = [], []
    for _ in range(steps):
        d, g, _, _ = gan_step(G, D, opt_g, opt_d, real_samples(64),
                              rng.standard_normal((64, 4)), rng.standard_normal((64, 4)), "mean")
        d_losses.append(d)
        g_losses.append(g)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    ax1.plot(d_losses, label="D loss")
    ax1.plot(g_losses, label="G loss")
    ax1.axhline(np.log(2), color="gray", linestyle="--")
    ax1.legend()
    ax2.hist(real_samples(500).ravel(), bins=40, alpha=0.6, density=True, label="Real")
    ax2.hist(G.forward(rng.standard_normal((500, 4)), train=False).ravel(), bins=40, alpha=0.6,
             density=True, label="Generated")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return G

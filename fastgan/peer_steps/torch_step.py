"""The GAN step of fastgan's benchmark in PyTorch: eager nn modules and torch.optim, float32.

D updates on a real and a fake batch (BCE with logits), then G updates through the updated
D, as in the PyTorch MNIST GAN tutorial. Served to fastgan.peers (see _common.serve).
"""
from _common import not_installed, one_by_one, parse_args, real_data, serve

try:
    import torch
    from torch import nn
except ImportError as err:
    not_installed("torch", err)


def mlp(sizes, hidden, output, alpha, dropout):
    """Linear layers with `hidden` activations (and dropout) between, `output` at the end."""
    layers = []
    for i, (k, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(k, m))
        layers += activation(output if last else hidden, alpha)
        if dropout and not last:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def activation(name, alpha):
    return {"relu": [nn.ReLU()], "leaky_relu": [nn.LeakyReLU(alpha)], "tanh": [nn.Tanh()],
            "sigmoid": [nn.Sigmoid()], "linear": []}[name]


def optimizer(params, spec, learning_rate):
    if spec["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=learning_rate)
    return torch.optim.Adam(params, lr=learning_rate, betas=(spec["beta1"], spec["beta2"]),
                            eps=spec["eps"])


def make_step(spec, batch):
    learning_rate = spec.get("learning_rate", 1e-3)
    G = mlp(spec["g_layers"], spec["g_activation"], spec["g_output"], spec["alpha"], 0.0)
    D = mlp(spec["d_layers"], spec["d_activation"], "linear", spec["alpha"], spec["dropout"])
    g_opt = optimizer(G.parameters(), spec, spec.get("g_learning_rate") or learning_rate)
    d_opt = optimizer(D.parameters(), spec, spec.get("d_learning_rate") or learning_rate)
    bce = nn.BCEWithLogitsLoss()
    data = torch.from_numpy(real_data(spec, batch))
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    chunks = data.shape[0] // batch

    def step(i):
        real = data[(i % chunks) * batch:(i % chunks + 1) * batch]
        fake = G(torch.randn(batch, spec["g_layers"][0]))
        d_opt.zero_grad(set_to_none=True)
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        g_loss = bce(D(fake), ones)
        g_loss.backward()
        g_opt.step()

    return step


def main():
    args = parse_args(__doc__)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    serve(one_by_one(make_step(args.spec, args.batch)), torch.__version__,
          torch.get_num_threads())


if __name__ == "__main__":
    main()

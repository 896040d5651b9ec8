"""Does the PyTorch MLP GAN tutorial's recipe collapse on fastgan's embedded MNIST sample?

Trains the recipe in PyTorch itself (torch's own layers, init and Adam; the architecture of
fastgan's `pytorch-tutorial` preset: G 100-256-512-1024-784, D 784-1024-512-256-1, leaky
relu 0.2, dropout 0.3 in D, BCE on a sigmoid, Adam 1e-4, batch 32) and after every epoch
prints the share of 1,000 samples each digit takes among those fastgan's classifier calls
with confidence >= 0.9. Needs torch (not a fastgan dependency).

    python bench/tutorials/pytorch_recipe.py --epochs 5 [--threads 1] [--random_seed 42]

With --data FILE.npz (images x (n, 784) in [-1, 1]) and --no-score it needs only torch and
NumPy, and its last line gives the training loop's own time: compare.py times it so.
"""
import argparse
import time

import numpy as np
import torch
from torch import nn


def networks():
    act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    G = nn.Sequential(nn.Linear(100, 256), act(), nn.Linear(256, 512), act(),
                      nn.Linear(512, 1024), act(), nn.Linear(1024, 784), nn.Tanh())
    D = nn.Sequential(nn.Linear(784, 1024), act(), nn.Dropout(0.3), nn.Linear(1024, 512),
                      act(), nn.Dropout(0.3), nn.Linear(512, 256), act(), nn.Dropout(0.3),
                      nn.Linear(256, 1), nn.Sigmoid())
    return G, D


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--learning_rate", "-lr", type=float, default=1e-4)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--random_seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", help=".npz holding x (n, 784) in [-1, 1] (default: fastgan's "
                   "embedded MNIST sample)")
    p.add_argument("--no-score", action="store_true", help="skip the classifier's scores")
    args = p.parse_args()
    torch.manual_seed(args.random_seed)
    torch.set_num_threads(args.threads)
    x = torch.tensor(images(args.data), dtype=torch.float32)
    G, D = networks()
    bce = nn.BCELoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=args.learning_rate)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.learning_rate)
    n, score = args.batch_size, None if args.no_score else scorer()
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
    start, training = time.perf_counter(), 0.0
    for epoch in range(args.epochs):
        began = time.perf_counter()
        G.train(), D.train()
        for real in x[torch.randperm(len(x))].split(n):
            if len(real) < n:
                continue
            fake = G(torch.randn(n, 100))
            D.zero_grad()
            loss_d = bce(D(torch.cat([real, fake.detach()])), torch.cat([ones, zeros]))
            loss_d.backward()
            opt_d.step()
            G.zero_grad()
            loss_g = bce(D(G(torch.randn(n, 100))), ones)
            loss_g.backward()
            opt_g.step()
        training += time.perf_counter() - began
        G.eval()
        with torch.no_grad():
            samples = G(torch.randn(1000, 100)).numpy().astype(np.float64)
        print(f"epoch {epoch} {time.perf_counter() - start:.0f}s D {loss_d.item():.3f} "
              f"G {loss_g.item():.3f}{score(samples) if score else ''}", flush=True)
    print(f"trained {args.epochs} epochs in {training:.2f} s (training loop only)")


def images(path):
    """Images (n, 784) in [-1, 1]: from an .npz's x, else fastgan's embedded sample."""
    if path:
        with np.load(path) as z:
            return z["x"]
    from fastgan.data import load_dataset, scale_images
    return scale_images(load_dataset("mnist-sample").x)


def scorer():
    """samples -> " confident ...% digits ... shares ...", by fastgan's classifier."""
    from fastgan.evaluation import digit_metrics, load_classifier
    classifier = load_classifier()

    def score(samples):
        m = digit_metrics(classifier.features_and_probs(samples)[1])
        shares = " ".join(f"{s:.2f}" for s in m["digit_share"])
        return (f" confident {m['confident_fraction']:.1%} digits {m['digits_covered']} "
                f"shares {shares}")
    return score


if __name__ == "__main__":
    main()

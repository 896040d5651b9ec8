"""fastgan's GAN step, served like the peers' (see _common.serve): `GAN.fit`, the way users
train, on the Numba backend in float32.

The real rows are 64 batches of uint8 pixels, as fastgan holds MNIST, so the work of an
epoch (a fresh data order, the learning-rate decay, the check of the weights) comes every 64
steps (on MNIST's 60,000 rows, every 937). Each run of n steps is one call of `fit`, which
continues the run.
"""
from _common import parse_args, serve

import numpy as np

import fastgan
from fastgan.config import Config
from fastgan.threads import step_threads

BATCHES = 64


def main():
    args = parse_args(__doc__)
    config = Config(**args.spec, batch_size=args.batch, dtype="float32", backend="numba",
                    threads=args.threads, epochs=2 ** 62)
    gan = fastgan.GAN.from_config(config, verbose=False)
    rows = BATCHES * args.batch
    data = np.random.default_rng(0).integers(0, 256, (rows, config.d_layers[0]), np.uint8)
    labels = np.arange(rows) % config.n_classes if config.n_classes else None

    def run(first, n):
        gan.fit(data, labels, steps=first + n)

    serve(run, fastgan.__version__, step_threads(config))


if __name__ == "__main__":
    main()

"""fastgan: train MLP GANs fast on a CPU."""

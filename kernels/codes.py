"""Integer codes shared by the kernels and their twins (Numba dispatches on plain ints)."""

ACTIVATIONS = {"linear": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4}
LINEAR, RELU, LEAKY_RELU, TANH, SIGMOID = range(5)

# Loss heads, each a per-logit term f(l; t) summed with a weight (see reference.loss_head).
HEADS = {"bce": 0, "neg_softplus": 1, "squared": 2, "hinge": 3, "linear": 4}
BCE, NEG_SOFTPLUS, SQUARED, HINGE, LINEAR_HEAD = range(5)

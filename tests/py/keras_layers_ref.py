"""keras_layers_ref.py - an independent numpy implementation of the Keras layers featcache
runs, written from the TF / Keras definitions (TF 'same' padding with the extra row at
bottom/right, BN unfolded, average pooling excluding padding, Keras merge broadcasting,
the keras.activations formulas), in float64. make_models.py computes its golden outputs
with forward(); numpy only, never imported by the product.
"""
import math

import numpy as np


def same_pad(n, k, s, d=1):
    ek = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + ek - n, 0)
    return total // 2, total - total // 2


def pad_hw(x, pt, pb, pl, pr, value=0.0):
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def geometry(x, kh, kw, sh, sw, dh, dw, padding, value=0.0):
    if padding == "same":
        pt, pb = same_pad(x.shape[1], kh, sh, dh)
        pl, pr = same_pad(x.shape[2], kw, sw, dw)
        x = pad_hw(x, pt, pb, pl, pr, value)
    oh = (x.shape[1] - ((kh - 1) * dh + 1)) // sh + 1
    ow = (x.shape[2] - ((kw - 1) * dw + 1)) // sw + 1
    return x, oh, ow


def patches(x, kh, kw, sh, sw, dh, dw, oh, ow):
    """yields (i, j, slice (n, oh, ow, c)) for every kernel tap"""
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]


def conv2d(x, w, b, strides, padding, dil=(1, 1)):
    kh, kw, cin, cout = w.shape
    x, oh, ow = geometry(x.astype(np.float64), kh, kw, strides[0], strides[1], dil[0], dil[1], padding)
    y = np.zeros((x.shape[0], oh, ow, cout))
    for i, j, p in patches(x, kh, kw, strides[0], strides[1], dil[0], dil[1], oh, ow):
        y += p @ w[i, j].astype(np.float64)
    return y + (b if b is not None else 0)


def depthwise(x, w, b, strides, padding, dil=(1, 1)):
    kh, kw, cin, m = w.shape
    x, oh, ow = geometry(x.astype(np.float64), kh, kw, strides[0], strides[1], dil[0], dil[1], padding)
    y = np.zeros((x.shape[0], oh, ow, cin * m))
    for i, j, p in patches(x, kh, kw, strides[0], strides[1], dil[0], dil[1], oh, ow):
        y += (p[..., :, None] * w[i, j].astype(np.float64)).reshape(p.shape[:3] + (cin * m,))
    return y + (b if b is not None else 0)


def pool(x, k, s, padding, kind):
    if kind == "max":
        xp, oh, ow = geometry(x, k[0], k[1], s[0], s[1], 1, 1, padding, -np.inf)
        y = np.full((x.shape[0], oh, ow, x.shape[3]), -np.inf)
        for _, _, p in patches(xp, k[0], k[1], s[0], s[1], 1, 1, oh, ow):
            y = np.maximum(y, p)
        return y
    xp, oh, ow = geometry(x, k[0], k[1], s[0], s[1], 1, 1, padding, 0.0)
    ones, _, _ = geometry(np.ones((1,) + x.shape[1:3] + (1,)), k[0], k[1], s[0], s[1], 1, 1, padding, 0.0)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    cnt = np.zeros((1, oh, ow, 1))
    for (_, _, p), (_, _, q) in zip(patches(xp, k[0], k[1], s[0], s[1], 1, 1, oh, ow),
                                    patches(ones, k[0], k[1], s[0], s[1], 1, 1, oh, ow)):
        y += p
        cnt += q
    return y / cnt


def activation(x, name, max_value=None, slope=0.0, threshold=0.0, alpha=1.0, keras=2):
    """keras: the major version of the Keras that wrote the model (hard_sigmoid differs)"""
    if name == "linear":
        return x
    if name in ("relu", "relu6"):
        y = np.where(x >= threshold, x, slope * (x - threshold))
        if name == "relu6":
            max_value = 6.0
        return np.minimum(y, max_value) if max_value else y
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    # tf.keras / Keras 3 keras.activations, written from their definitions
    if name in ("swish", "silu"):
        return x / (1 + np.exp(-x))
    if name == "leaky_relu":  # tf.nn.leaky_relu / Keras 3: negative slope 0.2
        return np.where(x >= 0, x, 0.2 * x)
    if name == "gelu":  # approximate=False, the default of keras.activations.gelu
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    if name == "elu":
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    if name == "selu":
        return 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))
    if name == "softplus":
        return np.logaddexp(x, 0)
    if name == "softsign":
        return x / (np.abs(x) + 1)
    if name == "exponential":
        return np.exp(x)
    if name == "hard_sigmoid" and keras >= 3:  # Keras 3: relu6(x + 3) / 6
        return np.clip(x + 3, 0, 6) / 6
    if name == "hard_sigmoid":  # Keras 2.2.4 / tf.keras 2 backend.hard_sigmoid
        return np.clip(0.2 * x + 0.5, 0, 1)
    if name in ("hard_silu", "hard_swish"):  # Keras 3: x * relu6(x + 3) / 6
        return x * np.clip(x + 3, 0, 6) / 6
    if name == "mish":
        return x * np.tanh(np.logaddexp(x, 0))
    raise ValueError(name)


def as_values(v):
    """Keras config numbers: a number, a list, or Keras 3's {"class_name": "__numpy__", ...}"""
    if isinstance(v, dict):
        v = v["config"]["value"]
    return np.asarray(v, dtype=np.float64)


def merge(ins, op):
    """Keras _Merge: lower-rank inputs get axes inserted at 1, then numpy broadcasting."""
    nd = max(a.ndim for a in ins)
    xs = []
    for a in ins:
        while a.ndim < nd:
            a = np.expand_dims(a, 1)
        xs.append(a)
    y = xs[0]
    for z in xs[1:]:
        y = y + z if op == "add" else y * z
    return y


def normalization(x, c, w):
    """keras.layers.Normalization (TF >= 2.3, Keras 3): (x - mean) / max(sqrt(var), 1e-7)"""
    if c.get("mean") is not None:
        mean, var = as_values(c["mean"]), as_values(c["variance"])
    else:
        mean, var = w["mean"].astype(np.float64), w["variance"].astype(np.float64)
    d = np.maximum(np.sqrt(var), 1e-7)
    return mean + x * d if c.get("invert") else (x - mean) / d


def run_layer(L, ins, keras):
    c, w = L["config"], L["weights"]
    x = ins[0]
    cls = L["class_name"]
    if cls == "Conv2D":
        return activation(conv2d(x, w["kernel"], w.get("bias"), c["strides"], c["padding"], c["dilation_rate"]), c["activation"], keras=keras)
    if cls == "DepthwiseConv2D":
        return activation(depthwise(x, w["depthwise_kernel"], w.get("bias"), c["strides"], c["padding"], c["dilation_rate"]), c["activation"], keras=keras)
    if cls == "SeparableConv2D":
        y = depthwise(x, w["depthwise_kernel"], None, c["strides"], c["padding"], c["dilation_rate"])
        return activation(conv2d(y, w["pointwise_kernel"], w.get("bias"), (1, 1), "valid"), c["activation"], keras=keras)
    if cls == "Dense":
        return activation(x @ w["kernel"].astype(np.float64) + w.get("bias", 0), c["activation"], keras=keras)
    if cls == "BatchNormalization":
        g = w.get("gamma", 1.0)
        bt = w.get("beta", 0.0)
        return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"].astype(np.float64) + c["epsilon"]) * g + bt
    if cls == "Activation":
        return activation(x, c["activation"], keras=keras)
    if cls == "ReLU":
        return activation(x, "relu", c.get("max_value"), c.get("negative_slope", 0.0), c.get("threshold", 0.0))
    if cls == "LeakyReLU":
        return activation(x, "relu", None, c["alpha"])
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        return pool(x, c["pool_size"], c["strides"] or c["pool_size"], c["padding"], "max" if cls[0] == "M" else "avg")
    if cls == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2), keepdims=c.get("keepdims", False))
    if cls == "GlobalMaxPooling2D":
        return x.max(axis=(1, 2), keepdims=c.get("keepdims", False))
    if cls == "Rescaling":
        return x * as_values(c["scale"]) + as_values(c.get("offset", 0.0))
    if cls == "Normalization":
        return normalization(x, c, w)
    if cls == "Reshape":
        return x.reshape((x.shape[0],) + tuple(c["target_shape"]))
    if cls == "ELU":
        return activation(x, "elu", alpha=c.get("alpha", 1.0))
    if cls == "ZeroPadding2D":
        (t, b_), (l, r) = c["padding"]
        return pad_hw(x, t, b_, l, r)
    if cls == "Cropping2D":
        (t, b_), (l, r) = c["cropping"]
        return x[:, t:x.shape[1] - b_, l:x.shape[2] - r, :]
    if cls == "Add":
        return merge(ins, "add")
    if cls == "Multiply":
        return merge(ins, "mul")
    if cls == "Concatenate":
        return np.concatenate(ins, axis=-1)
    if cls == "Flatten":
        return x.reshape(x.shape[0], -1)
    if cls in ("Dropout", "SpatialDropout2D"):
        return x
    raise ValueError(cls)


def forward(layers, x, upto=None, keras=2):
    """layers: ordered list (topological) with 'inbound' names; returns the output of
    `upto` (or the last layer) as the Keras of major version `keras` computes it."""
    vals = {}
    for L in layers:
        if L["class_name"] == "InputLayer":
            vals[L["name"]] = x.astype(np.float64)
            continue
        vals[L["name"]] = run_layer(L, [vals[n] for n in L["inbound"]], keras)
        if upto == L["name"]:
            break
    return vals[upto or layers[-1]["name"]]

#!/usr/bin/python3
"""make_models.py OUTDIR [--small] - golden model files for featcache's loader/engine tests.

Writes small Keras-layout HDF5 models (Keras 2.2.4 style: fixed-length string attributes;
tf.keras / h5py 3 style: variable-length strings), weights-only application files with
the real keras.applications layer names, a TF.js folder with quantized weights in two
shards, and deliberately broken files. For every model it computes reference outputs
with an independent numpy implementation of the Keras layers (keras_layers_ref.py: TF
'same' padding, BN unfolded, average pooling excluding padding) and lists them in
OUTDIR/cases.txt:

    model  layer|-  n  h  w  c  out_elems  input.f32  output.f32

(raw little-endian float32, NHWC input, per-image flattened output). Needs only numpy
and h5py (Debian's /usr/bin/python3). `tiny_vgg.h5` is a Sequential conv net for 32x32
RGB input (block1_conv1 .. block2_pool, flatten, dense) that other tests may reuse;
--small skips the full-size VGG16 / MobileNetV2 / InceptionV3 weights-only files (~155 MB).
"""
import json
import math
import os
import sys

import h5py
import numpy as np

from keras_layers_ref import forward

RNG = np.random.default_rng(1234)
F32 = np.float32


# ---------------------------------------------------------------- model building ----
class Net:
    """A list of Keras layers with configs, inbound names and weights."""

    def __init__(self, name, shape):
        self.name = name
        self.layers = [dict(name="input_1", class_name="InputLayer", inbound=[], weights={},
                            config=dict(batch_input_shape=[None] + list(shape), dtype="float32",
                                        sparse=False, name="input_1"))]
        self.chan = {"input_1": shape[2]}
        self.last = "input_1"

    def add(self, cls, name, inbound=None, weights=None, chan=None, **cfg):
        inbound = inbound or [self.last]
        if isinstance(inbound, str):
            inbound = [inbound]
        cfg = dict(cfg, name=name, trainable=True)
        self.layers.append(dict(name=name, class_name=cls, config=cfg, inbound=inbound,
                                weights=weights or {}))
        self.chan[name] = chan if chan is not None else self.chan[inbound[0]]
        self.last = name
        return name

    def conv(self, name, filters, k=3, s=1, padding="same", act="linear", bias=True, inbound=None, dil=1):
        cin = self.chan[(inbound or self.last) if isinstance(inbound or self.last, str) else inbound[0]]
        w = {"kernel": rnd((k, k, cin, filters), 1.0 / np.sqrt(k * k * cin))}
        if bias:
            w["bias"] = rnd((filters,), 0.1)
        return self.add("Conv2D", name, inbound, w, filters, filters=filters, kernel_size=[k, k],
                        strides=[s, s], padding=padding, data_format="channels_last",
                        dilation_rate=[dil, dil], activation=act, use_bias=bias)

    def dwconv(self, name, k=3, s=1, padding="same", mult=1, bias=False, inbound=None):
        cin = self.chan[inbound or self.last]
        w = {"depthwise_kernel": rnd((k, k, cin, mult), 1.0 / k)}
        if bias:
            w["bias"] = rnd((cin * mult,), 0.1)
        return self.add("DepthwiseConv2D", name, inbound, w, cin * mult, kernel_size=[k, k],
                        strides=[s, s], padding=padding, depth_multiplier=mult,
                        data_format="channels_last", dilation_rate=[1, 1], activation="linear",
                        use_bias=bias)

    def bn(self, name, scale=True, center=True, eps=1e-3, inbound=None):
        c = self.chan[inbound or self.last]
        w = {}
        if scale:
            w["gamma"] = (1 + rnd((c,), 0.2)).astype(F32)
        if center:
            w["beta"] = rnd((c,), 0.2)
        w["moving_mean"] = rnd((c,), 0.3)
        w["moving_variance"] = (0.5 + RNG.random(c)).astype(F32)
        return self.add("BatchNormalization", name, inbound, w, axis=-1, momentum=0.99,
                        epsilon=eps, center=center, scale=scale)

    def dense(self, name, units, act="linear", cin=None):
        w = {"kernel": rnd((cin, units), 1.0 / np.sqrt(cin)), "bias": rnd((units,), 0.1)}
        return self.add("Dense", name, None, w, units, units=units, activation=act, use_bias=True)


def rnd(shape, scale):
    return (RNG.standard_normal(shape) * scale).astype(F32)


WEIGHT_ORDER = {"Conv2D": ["kernel", "bias"], "DepthwiseConv2D": ["depthwise_kernel", "bias"],
                "SeparableConv2D": ["depthwise_kernel", "pointwise_kernel", "bias"],
                "Dense": ["kernel", "bias"],
                "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"],
                "Normalization": ["mean", "variance", "count"]}


def ordered_weights(L):
    return [(k, L["weights"][k]) for k in WEIGHT_ORDER.get(L["class_name"], []) if k in L["weights"]]


def keras_config(net, sequential, style):
    def entry(L, with_inbound):
        e = dict(class_name=L["class_name"], config=dict(L["config"]))
        if with_inbound:
            e["name"] = L["name"]
            e["inbound_nodes"] = [[[n, 0, 0, {}] for n in L["inbound"]]] if L["inbound"] else []
        return e
    if sequential:
        body = [entry(L, False) for L in net.layers[1:]]
        if style == "k2":  # Keras 2.2.4: a bare list, input shape on the first layer
            body[0]["config"]["batch_input_shape"] = net.layers[0]["config"]["batch_input_shape"]
            return dict(class_name="Sequential", config=body)
        return dict(class_name="Sequential", config=dict(name=net.name, layers=[entry(net.layers[0], False)] + body))
    return dict(class_name="Model" if style == "k2" else "Functional",
                config=dict(name=net.name, layers=[entry(L, True) for L in net.layers],
                            input_layers=[["input_1", 0, 0]], output_layers=[[net.layers[-1]["name"], 0, 0]]))


def str_attr(style, s):
    """Keras 2.2.4 writes bytes (fixed-length); h5py 3 writes str (variable-length)."""
    return np.bytes_(s.encode()) if style == "k2" else s


def str_list(style, items):
    if not items:
        return np.asarray([])  # what Keras writes for a layer without weights
    if style == "k2":
        return np.array([s.encode() for s in items])
    return np.array(items, dtype=h5py.string_dtype())


def write_weight_groups(root, layer_groups, style):
    """layer_groups: [(group_name, [(weight_name, array)])]"""
    root.attrs["layer_names"] = str_list(style, [g for g, _ in layer_groups])
    root.attrs["backend"] = str_attr(style, "tensorflow")
    root.attrs["keras_version"] = str_attr(style, "2.2.4" if style == "k2" else "2.9.0")
    for gname, ws in layer_groups:
        g = root.create_group(gname)
        g.attrs["weight_names"] = str_list(style, [n for n, _ in ws])
        for n, a in ws:
            g.create_dataset(n, data=a)


def layer_groups(net):
    return [(L["name"], [("%s/%s:0" % (L["name"], k), a) for k, a in ordered_weights(L)])
            for L in net.layers if L["class_name"] != "InputLayer"]


def write_h5(path, net, sequential, style, config=None, groups=None, version=None):
    """version: the keras_version attribute (None: the style's; False: none written)"""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = str_attr(style, json.dumps(config or keras_config(net, sequential, style)))
        if version is not False:
            f.attrs["keras_version"] = str_attr(style, version or ("2.2.4" if style == "k2" else "2.9.0"))
        f.attrs["backend"] = str_attr(style, "tensorflow")
        write_weight_groups(f.create_group("model_weights"), groups or layer_groups(net), style)


# ---------------------------------------------------------------- the models ----
def tiny_vgg():
    n = Net("tiny_vgg", (32, 32, 3))
    n.conv("block1_conv1", 4, act="relu")
    n.conv("block1_conv2", 4, act="relu")
    n.add("MaxPooling2D", "block1_pool", pool_size=[2, 2], strides=[2, 2], padding="valid", data_format="channels_last")
    n.conv("block2_conv1", 8, padding="valid", act="relu")
    n.conv("block2_conv2", 8, s=2, act="relu")
    n.add("MaxPooling2D", "block2_pool", pool_size=[2, 2], strides=None, padding="valid", data_format="channels_last")
    n.add("Flatten", "flatten_1", data_format="channels_last", chan=72)
    n.dense("dense_1", 16, "relu", cin=72)
    n.add("Dropout", "dropout_1", rate=0.5)
    n.dense("dense_2", 3, "softmax", cin=16)
    return n


def incep():
    n = Net("incep", (19, 17, 3))
    n.conv("conv2d_1", 8, s=2, padding="valid", bias=False)
    n.bn("batch_normalization_1", scale=False)
    x = n.add("Activation", "activation_1", activation="relu")
    b1 = n.conv("branch1x1", 6, k=1, act="relu", inbound=x)
    t = n.conv("branch_sep_in", 4, k=1, inbound=x)
    c = n.chan[t]
    sep_w = {"depthwise_kernel": rnd((3, 3, c, 2), 0.3), "pointwise_kernel": rnd((1, 1, 2 * c, 6), 0.3),
             "bias": rnd((6,), 0.1)}
    b2 = n.add("SeparableConv2D", "branch_sep", t, sep_w, 6, filters=6, kernel_size=[3, 3], strides=[1, 1],
               padding="same", data_format="channels_last", dilation_rate=[1, 1], depth_multiplier=2,
               activation="relu", use_bias=True)
    t = n.add("AveragePooling2D", "average_pooling2d_1", x, pool_size=[3, 3], strides=[1, 1], padding="same",
              data_format="channels_last")
    b3 = n.conv("branch_pool", 4, k=1, inbound=t)
    b4 = n.conv("branch_dil", 4, k=3, dil=2, inbound=x)
    n.add("Concatenate", "mixed0", [b1, b2, b3, b4], chan=20, axis=-1)
    n.add("ZeroPadding2D", "pad", padding=[[1, 2], [0, 1]], data_format="channels_last")
    n.add("Cropping2D", "crop", cropping=[[0, 1], [1, 0]], data_format="channels_last")
    x = n.conv("conv_after", 8, padding="valid")
    y = n.add("LeakyReLU", "leaky", x, alpha=0.1)
    gate = n.conv("gate", 8, k=1, act="sigmoid", inbound=x)
    n.add("Multiply", "gated", [y, gate])
    n.add("ReLU", "relu_thr", max_value=None, negative_slope=0.05, threshold=0.2)
    n.add("MaxPooling2D", "max_pooling2d_1", pool_size=[3, 3], strides=[2, 2], padding="same", data_format="channels_last")
    n.add("GlobalAveragePooling2D", "global_average_pooling2d_1", data_format="channels_last")
    n.dense("predictions", 5, "softmax", cin=8)
    return n


def correct_pad(size, k):
    adj = (1 - size[0] % 2, 1 - size[1] % 2)
    c = (k // 2, k // 2)
    return [[c[0] - adj[0], c[0]], [c[1] - adj[1], c[1]]]


def inverted_res(n, size, expansion, stride, filters, block_id):
    """keras.applications.mobilenet_v2._inverted_res_block; size = (h, w) of its input"""
    inp = n.last
    cin = n.chan[inp]
    prefix = "block_%d_" % block_id if block_id else "expanded_conv_"
    if block_id:
        n.conv(prefix + "expand", expansion * cin, k=1, bias=False)
        n.bn(prefix + "expand_BN")
        n.add("ReLU", prefix + "expand_relu", max_value=6.0)
    if stride == 2:
        n.add("ZeroPadding2D", prefix + "pad", padding=correct_pad(size, 3))
    n.dwconv(prefix + "depthwise", s=stride, padding="same" if stride == 1 else "valid")
    n.bn(prefix + "depthwise_BN")
    n.add("ReLU", prefix + "depthwise_relu", max_value=6.0)
    n.conv(prefix + "project", filters, k=1, bias=False)
    n.bn(prefix + "project_BN")
    if cin == filters and stride == 1:
        n.add("Add", prefix + "add", [inp, n.last])
    return (-(-size[0] // stride), -(-size[1] // stride))


def mobilenet_v2(h, w, full=True, widths=None):
    """keras.applications.MobileNetV2(alpha=1, include_top=False) at input (h, w);
    full=False gives a 3-block miniature with the same block structure."""
    n = Net("mobilenetv2_1.00_%d" % h, (h, w, 3))
    if full:
        n.conv("Conv1", 32, s=2, bias=False)  # tf.keras: padding='same'
        size = (-(-h // 2), -(-w // 2))
    else:
        n.add("ZeroPadding2D", "Conv1_pad", padding=correct_pad((h, w), 3))
        n.conv("Conv1", 8, s=2, padding="valid", bias=False)
        size = (-(-h // 2), -(-w // 2))
    n.bn("bn_Conv1")
    n.add("ReLU", "Conv1_relu", max_value=6.0)
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    if not full:
        cfg = [(1, 8, 1, 1), (6, 12, 2, 2)]
    block = 0
    for t, c, reps, s in cfg:
        for i in range(reps):
            size = inverted_res(n, size, t, s if i == 0 else 1, c, block)
            block += 1
    n.conv("Conv_1", 1280 if full else 32, k=1, bias=False, padding="valid")
    n.bn("Conv_1_bn")
    n.add("ReLU", "out_relu", max_value=6.0)
    if not full:
        n.add("GlobalAveragePooling2D", "global_average_pooling2d_1", data_format="channels_last")
        n.dense("dense_1", 2, "softmax", cin=32)
    return n


def mobilenet_v1(h, w, alpha=0.25):
    """keras.applications.MobileNet(alpha, include_top=False) as tf.keras builds it: conv1
    'same', stride-2 blocks ZeroPadding2D(((0, 1), (0, 1))) + 'valid' (not 'same' at odd sizes)"""
    n = Net("mobilenet_%.2f_%d" % (alpha, h), (h, w, 3))
    n.conv("conv1", int(32 * alpha), s=2, bias=False)
    n.bn("conv1_bn")
    n.add("ReLU", "conv1_relu", max_value=6.0)
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (f, s) in enumerate(blocks, 1):
        if s == 2:
            n.add("ZeroPadding2D", "conv_pad_%d" % i, padding=[[0, 1], [0, 1]])
        n.dwconv("conv_dw_%d" % i, s=s, padding="same" if s == 1 else "valid")
        n.bn("conv_dw_%d_bn" % i)
        n.add("ReLU", "conv_dw_%d_relu" % i, max_value=6.0)
        n.conv("conv_pw_%d" % i, int(f * alpha), k=1, bias=False)
        n.bn("conv_pw_%d_bn" % i)
        n.add("ReLU", "conv_pw_%d_relu" % i, max_value=6.0)
    return n


IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]
ZOO = ["gelu", "elu", "selu", "softplus", "softsign", "exponential", "hard_silu", "hard_swish", "mish", "leaky_relu"]


def effnet_block(n, size, name, filters_out, k, stride, expand, se="reshape", acts=("swish",) * 4):
    """keras.applications.efficientnet.block (se_ratio 0.25, id_skip) at input size (h, w);
    se: "reshape" (GAP -> Reshape((1, 1, c)), as Keras) or "keepdims" (GAP keepdims=True,
    the gate first in the Multiply); acts: expand, depthwise, se_reduce activations and an
    ELU layer's alpha instead of the depthwise Activation when acts[1] is a number."""
    inp = n.last
    filters_in = n.chan[inp]
    filters = filters_in * expand
    if expand != 1:
        n.conv(name + "expand_conv", filters, k=1, bias=False)
        n.bn(name + "expand_bn")
        n.add("Activation", name + "expand_activation", activation=acts[0])
    if stride == 2:
        n.add("ZeroPadding2D", name + "dwconv_pad", padding=correct_pad(size, k))
    n.dwconv(name + "dwconv", k=k, s=stride, padding="same" if stride == 1 else "valid")
    n.bn(name + "bn")
    if isinstance(acts[1], float):
        x = n.add("ELU", name + "activation", alpha=acts[1])
    else:
        x = n.add("Activation", name + "activation", activation=acts[1])
    filters_se = max(1, int(filters_in * 0.25))
    if se == "keepdims":
        n.add("GlobalAveragePooling2D", name + "se_squeeze", keepdims=True, data_format="channels_last")
    else:
        n.add("GlobalAveragePooling2D", name + "se_squeeze", data_format="channels_last")
        n.add("Reshape", name + "se_reshape", target_shape=[1, 1, filters])
    n.conv(name + "se_reduce", filters_se, k=1, act=acts[2])
    g = n.conv(name + "se_expand", filters, k=1, act="sigmoid")
    n.add("Multiply", name + "se_excite", [g, x] if se == "keepdims" else [x, g])
    n.conv(name + "project_conv", filters_out, k=1, bias=False)
    n.bn(name + "project_bn")
    if stride == 1 and filters_in == filters_out:
        n.add("Dropout", name + "drop", rate=0.2, noise_shape=[None, 1, 1, 1])
        n.add("Add", name + "add", [n.last, inp])
    return (-(-size[0] // stride), -(-size[1] // stride))


def effnet_mini(h, w, per_channel=True):
    """A small keras.applications.EfficientNet (TF >= 2.10 stem: Rescaling, Normalization with
    its adapted weights, Rescaling(1/sqrt(stddev)) per channel) with the squeeze-and-excitation
    blocks of B0 in both SE forms, a 5x5 stride-2 depthwise block, then every activation
    featcache knows on 1x1 convolutions, a standalone one, a Normalization with its statistics
    in the config (invert=True) and a vector gating the map before the head."""
    n = Net("efficientnet_mini", (h, w, 3))
    n.add("Rescaling", "rescaling", scale=0.8, offset=-0.1)
    n.add("Normalization", "normalization", weights={"mean": rnd((3,), 0.3), "variance": (0.5 + RNG.random(3)).astype(F32),
                                                     "count": np.int64(1000)}, axis=[3], mean=None, variance=None)
    if per_channel:
        n.add("Rescaling", "rescaling_1", scale=[1.0 / math.sqrt(v) for v in IMAGENET_STDDEV_RGB], offset=0.0)
    n.add("ZeroPadding2D", "stem_conv_pad", padding=correct_pad((h, w), 3))
    n.conv("stem_conv", 8, s=2, padding="valid", bias=False)
    n.bn("stem_bn")
    n.add("Activation", "stem_activation", activation="swish")
    size = (-(-h // 2), -(-w // 2))
    size = effnet_block(n, size, "block1a_", 8, 3, 1, 1)
    size = effnet_block(n, size, "block2a_", 12, 5, 2, 4, se="keepdims")
    size = effnet_block(n, size, "block2b_", 12, 3, 1, 4, acts=("gelu", 0.8, "selu"))
    n.conv("top_conv", 24, k=1, bias=False)
    n.bn("top_bn")
    top = n.add("Activation", "top_activation", activation="swish")
    zoo = [n.conv("zoo_" + a, 2, k=1, act=a, inbound=top) for a in ZOO]
    n.add("Concatenate", "zoo", zoo, chan=2 * len(ZOO), axis=-1)
    x = n.add("Activation", "zoo_activation", activation="softsign")
    n.add("Normalization", "denorm", axis=-1, invert=True, mean=[float(v) for v in rnd((2 * len(ZOO),), 0.5)], variance=0.25)
    v = n.add("GlobalAveragePooling2D", "avg_pool", x, data_format="channels_last")
    n.add("Multiply", "vec_gate", ["denorm", v])
    n.add("GlobalMaxPooling2D", "max_pool", data_format="channels_last")
    n.dense("predictions", 5, "softmax", cin=2 * len(ZOO))
    return n


def act_probe():
    """Each activation as a standalone layer on x/2 - 2, mostly negative values: where the
    exact Keras formulas differ most from their look-alikes (gelu's tanh form, elu/selu
    constants, hard_silu's slope) relative to the output's largest value."""
    n = Net("act_probe", (9, 7, 3))
    x = n.add("Rescaling", "shift", scale=0.5, offset=-2.0)
    outs = [n.add("Activation", "act_" + a, x, activation=a) for a in ZOO + ["swish", "sigmoid", "tanh"]]
    outs.append(n.add("ELU", "act_elu_layer", x, alpha=0.6))
    n.add("Concatenate", "acts", outs, chan=3 * len(outs), axis=-1)
    return n, outs


def hard_sigmoid_net():
    """hard_sigmoid as an Activation layer on the input and as a 1x1 Conv2D's activation:
    Keras 2 clips 0.2x + 0.5 (flat beyond +-2.5), Keras 3 computes relu6(x + 3) / 6 (flat
    beyond +-3); they agree only at 0 and where both are flat."""
    n = Net("hard_sigmoid", (5, 7, 3))
    a = n.add("Activation", "hs_act", activation="hard_sigmoid")
    c = n.conv("hs_conv", 3, k=1, act="hard_sigmoid", inbound="input_1")
    n.add("Concatenate", "hs", [a, c], chan=6, axis=-1)
    return n


def vgg16():
    n = Net("vgg16", (None, None, 3))
    for b, (f, reps) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 1):
        for i in range(1, reps + 1):
            n.conv("block%d_conv%d" % (b, i), f, act="relu")
        n.add("MaxPooling2D", "block%d_pool" % b, pool_size=[2, 2], strides=[2, 2], padding="valid")
    return n


def inception_v3():
    """keras.applications.InceptionV3(include_top=False) with tf.keras auto names
    (conv2d, conv2d_1, ..., batch_normalization, ...)."""
    n = Net("inception_v3", (None, None, 3))
    cnt = {}

    def auto(prefix):
        k = cnt.get(prefix, 0)
        cnt[prefix] = k + 1
        return prefix if k == 0 else "%s_%d" % (prefix, k)

    def cbn(x, f, r, c, s=1, padding="same"):
        cin = n.chan[x]
        w = {"kernel": rnd((r, c, cin, f), 1.0 / np.sqrt(r * c * cin))}
        n.add("Conv2D", auto("conv2d"), x, w, f, filters=f, kernel_size=[r, c], strides=[s, s],
              padding=padding, data_format="channels_last", dilation_rate=[1, 1], activation="linear", use_bias=False)
        n.bn(auto("batch_normalization"), scale=False)
        return n.add("Activation", auto("activation"), activation="relu")

    def pool(x, kind, k, s, padding):
        cls = "MaxPooling2D" if kind == "max" else "AveragePooling2D"
        return n.add(cls, auto("max_pooling2d" if kind == "max" else "average_pooling2d"), x,
                     pool_size=[k, k], strides=[s, s], padding=padding)

    def cat(xs, name=None):
        return n.add("Concatenate", name or auto("concatenate"), xs, chan=sum(n.chan[x] for x in xs), axis=-1)

    x = cbn("input_1", 32, 3, 3, 2, "valid")
    x = cbn(x, 32, 3, 3, 1, "valid")
    x = cbn(x, 64, 3, 3)
    x = pool(x, "max", 3, 2, "valid")
    x = cbn(x, 80, 1, 1, 1, "valid")
    x = cbn(x, 192, 3, 3, 1, "valid")
    x = pool(x, "max", 3, 2, "valid")
    for i, pf in enumerate([32, 64, 64]):
        b1 = cbn(x, 64, 1, 1)
        b5 = cbn(cbn(x, 48, 1, 1), 64, 5, 5)
        b3 = cbn(cbn(cbn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        bp = cbn(pool(x, "avg", 3, 1, "same"), pf, 1, 1)
        x = cat([b1, b5, b3, bp], "mixed%d" % i)
    b3 = cbn(x, 384, 3, 3, 2, "valid")
    bd = cbn(cbn(cbn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, "valid")
    x = cat([b3, bd, pool(x, "max", 3, 2, "valid")], "mixed3")
    for i, c in enumerate([128, 160, 160, 192]):
        b1 = cbn(x, 192, 1, 1)
        b7 = cbn(cbn(cbn(x, c, 1, 1), c, 1, 7), 192, 7, 1)
        bd = cbn(x, c, 1, 1)
        for f, r, cc in [(c, 7, 1), (c, 1, 7), (c, 7, 1), (192, 1, 7)]:
            bd = cbn(bd, f, r, cc)
        bp = cbn(pool(x, "avg", 3, 1, "same"), 192, 1, 1)
        x = cat([b1, b7, bd, bp], "mixed%d" % (4 + i))
    b3 = cbn(cbn(x, 192, 1, 1), 320, 3, 3, 2, "valid")
    b7 = cbn(cbn(cbn(cbn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 2, "valid")
    x = cat([b3, b7, pool(x, "max", 3, 2, "valid")], "mixed8")
    for i in range(2):
        b1 = cbn(x, 320, 1, 1)
        t = cbn(x, 384, 1, 1)
        b3 = cat([cbn(t, 384, 1, 3), cbn(t, 384, 3, 1)], "mixed9_%d" % i)
        t = cbn(cbn(x, 448, 1, 1), 384, 3, 3)
        bd = cat([cbn(t, 384, 1, 3), cbn(t, 384, 3, 1)])
        bp = cbn(pool(x, "avg", 3, 1, "same"), 192, 1, 1)
        x = cat([b1, b3, bd, bp], "mixed%d" % (9 + i))
    return n


def nested():
    base = Net("tiny_base", (20, 20, 3))
    base.conv("b_conv1", 4, act="relu")
    base.add("MaxPooling2D", "b_pool", pool_size=[2, 2], strides=[2, 2], padding="valid")
    base.conv("b_conv2", 6, padding="valid", act="relu")
    base_cfg = keras_config(base, False, "tf")
    base_cfg["config"]["trainable"] = False
    top = Net("seq", (20, 20, 3))
    top.layers = list(base.layers)
    top.chan = dict(base.chan)
    top.last = base.last
    top.add("Flatten", "flatten", chan=8 * 8 * 6)
    top.dense("dense", 2, "sigmoid", cin=384)
    cfg = dict(class_name="Sequential", config=dict(name="seq", layers=[
        dict(class_name="InputLayer", config=dict(batch_input_shape=[None, 20, 20, 3], name="input_2")),
        dict(class_name="Functional", config=dict(base_cfg["config"], trainable=False)),
        dict(class_name="Flatten", config=dict(name="flatten")),
        dict(class_name="Dense", config=top.layers[-1]["config"])]))
    base_ws = [("%s/%s:0" % (L["name"], k), a) for L in base.layers for k, a in ordered_weights(L)]
    groups = [("tiny_base", base_ws), ("flatten", []),
              ("dense", [("dense/%s:0" % k, a) for k, a in ordered_weights(top.layers[-1])])]
    return top, cfg, groups


def to_keras3(cfg):
    """Keras 3 style inbound_nodes: [{"args": [tensor or [tensors]], "kwargs": {}}]"""
    for L in cfg["config"]["layers"]:
        nodes = L.get("inbound_nodes")
        if nodes:
            ts = [{"class_name": "__keras_tensor__", "config": {"keras_history": [r[0], 0, 0]}} for r in nodes[0]]
            L["inbound_nodes"] = [{"args": [ts] if len(ts) > 1 else ts, "kwargs": {}}]
    return cfg


# ---------------------------------------------------------------- TF.js ----
def write_tfjs(dirname, net, keras_version="2.2.4"):
    """TF.js layers folder; weights uint8-quantized (one uint16, one float32) in 2 shards.
    The net's weights are replaced by their dequantized values (what tfjs computes)."""
    os.makedirs(dirname, exist_ok=True)
    entries, blob = [], bytearray()
    k = 0
    for L in net.layers:
        for var, a in ordered_weights(L):
            name = ("model_1/" if k % 3 == 0 else "") + "%s/%s" % (L["name"], var)
            e = dict(name=name, shape=list(a.shape), dtype="float32")
            kind = "float32" if k == 1 else "uint16" if k == 2 else "uint8"
            if np.asarray(a).dtype.kind in "iu":  # a Normalization's count: int32 as tfjs writes it
                e["dtype"] = "int32"
                blob += np.asarray(a).astype("<i4").tobytes()
            elif kind == "float32":
                blob += a.astype("<f4").tobytes()
            else:
                levels = 255 if kind == "uint8" else 65535
                lo, hi = float(a.min()), float(a.max())
                scale = (hi - lo) / levels if hi > lo else 1.0
                q = np.clip(np.round((a.astype(np.float64) - lo) / scale), 0, levels)
                q = q.astype(np.uint8 if kind == "uint8" else "<u2")
                blob += q.tobytes()
                e["quantization"] = dict(dtype=kind, scale=scale, min=lo)
                L["weights"][var] = (q.astype(np.float64) * scale + lo).astype(F32)
            entries.append(e)
            k += 1
    cut = len(blob) // 2 + 3  # shards split mid-weight, as tfjs does at 4 MB
    paths = ["group1-shard1of2.bin", "group1-shard2of2.bin"]
    for p, part in zip(paths, (blob[:cut], blob[cut:])):
        with open(os.path.join(dirname, p), "wb") as f:
            f.write(part)
    model = dict(format="layers-model", generatedBy="keras v" + keras_version, convertedBy="make_models.py",
                 modelTopology=dict(keras_version=keras_version, backend="tensorflow",
                                    model_config=keras_config(net, False, "k2")),
                 weightsManifest=[dict(paths=paths, weights=entries)])
    with open(os.path.join(dirname, "model.json"), "w") as f:
        json.dump(model, f)
    return blob


# ---------------------------------------------------------------- broken files ----
def write_bad(out, good_h5):
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)
    with open(os.path.join(bad, "not_hdf5.h5"), "w") as f:
        f.write("this is not an HDF5 file\n" * 20)
    data = open(good_h5, "rb").read()
    with open(os.path.join(bad, "truncated.h5"), "wb") as f:
        f.write(data[:len(data) // 2])

    def variant(name, mutate, groups_fn=None):
        n = tiny_vgg()
        cfg = keras_config(n, False, "tf")
        mutate(cfg["config"]["layers"], n)
        write_h5(os.path.join(bad, name), n, False, "tf", config=cfg,
                 groups=groups_fn(n) if groups_fn else None)

    def set_cls(layers, n):
        layers[4]["class_name"] = "Lambda"
    def ambiguous(n):  # two "_N" candidates for block1_conv1's kernel: neither is taken
        g = layer_groups(n)
        name, ws = g[0]
        g[0] = (name, [(name + "_1/kernel:0", ws[0][1]), (name + "_2/kernel:0", ws[0][1]), ws[1]])
        return g
    variant("ambiguous_weight.h5", lambda layers, n: None, ambiguous)
    variant("unknown_class.h5", set_cls)
    variant("missing_class.h5", lambda layers, n: layers[2].pop("class_name"))
    variant("missing_inbound.h5", lambda layers, n: layers[5]["inbound_nodes"][0][0].__setitem__(0, "no_such_layer"))

    def cycle(layers, n):  # block1_conv1 <- block1_pool, making conv1 -> conv2 -> pool -> conv1
        layers[1]["inbound_nodes"] = [[["block1_pool", 0, 0, {}]]]
    variant("cycle.h5", cycle)
    variant("channels_first.h5", lambda layers, n: layers[1]["config"].__setitem__("data_format", "channels_first"))

    def wrong_shape(n):
        g = layer_groups(n)
        g[0] = (g[0][0], [(g[0][1][0][0], rnd((3, 3, 3, 5), 0.1)), g[0][1][1]])
        return g
    variant("wrong_shape.h5", lambda layers, n: None, wrong_shape)

    def wrong_dense(n):  # dense_1 after a 3x3x8 Flatten needs (72, 16)
        g = layer_groups(n)
        i = [k for k, (name, _) in enumerate(g) if name == "dense_1"][0]
        g[i] = (g[i][0], [(g[i][1][0][0], rnd((73, 16), 0.1)), g[i][1][1]])
        return g
    variant("wrong_dense.h5", lambda layers, n: None, wrong_dense)

    def missing_weight(n):
        g = layer_groups(n)
        g[1] = (g[1][0], g[1][1][:1])  # block1_conv2 without its bias
        return g
    variant("missing_weight.h5", lambda layers, n: None, missing_weight)

    def declared_only(name, ksize):  # block1_conv1 of (ksize, ksize, 3, 65536), chunks never written
        n = tiny_vgg()
        cfg = keras_config(n, False, "tf")
        cfg["config"]["layers"][1]["config"].update(filters=65536, kernel_size=[ksize, ksize])
        with h5py.File(os.path.join(bad, name), "w") as f:
            f.attrs["model_config"] = json.dumps(cfg)
            mw = f.create_group("model_weights")
            mw.attrs["layer_names"] = str_list("tf", ["block1_conv1"])
            g = mw.create_group("block1_conv1")
            g.attrs["weight_names"] = str_list("tf", ["block1_conv1/kernel:0", "block1_conv1/bias:0"])
            g.create_dataset("block1_conv1/kernel:0", shape=(ksize, ksize, 3, 65536), dtype="f4",
                             chunks=(1, 1, 3, 64))
            g.create_dataset("block1_conv1/bias:0", data=np.zeros(65536, F32))
    declared_only("huge_shape.h5", 4096)  # config and dataset agree on a huge kernel; no data
    declared_only("unwritten_chunks.h5", 11)  # a plausible size (95 MB), chunks never written
    def effnet_variant(name, mutate):
        n = effnet_mini(21, 19)
        cfg = keras_config(n, False, "tf")
        mutate({L["name"]: L for L in cfg["config"]["layers"]})
        write_h5(os.path.join(bad, name), n, False, "tf", config=cfg)
    # a Reshape to (h*w, c) tokens: the same values, but no (height, width, channels) form
    effnet_variant("reshape_tokens.h5", lambda L: L["block1a_se_reshape"]["config"].update(target_shape=[-1, 8]))
    effnet_variant("reshape_size.h5", lambda L: L["block1a_se_reshape"]["config"].update(target_shape=[2, 2, 8]))
    effnet_variant("unknown_activation.h5", lambda L: L["zoo_mish"]["config"].update(activation="crelu"))
    effnet_variant("se_broadcast_clash.h5", lambda L: L["block2a_se_excite"]["inbound_nodes"][0][0].__setitem__(0, "block2a_expand_activation"))
    # TF.js with a truncated second shard
    tdir = os.path.join(bad, "tfjs_truncated")
    write_tfjs(tdir, mobilenet_v2(24, 24, full=False))
    p = os.path.join(tdir, "group1-shard2of2.bin")
    d = open(p, "rb").read()
    open(p, "wb").write(d[:len(d) - 100])


# ---------------------------------------------------------------- cases ----
def save_case(out, cases, model, net, h, w, layer=None, override=False, n_img=2, x=None, keras=2):
    """keras: the major version the model file declares (its reference formulas)"""
    if x is None:
        x = RNG.standard_normal((n_img, h, w, 3)).astype(F32)
    y = forward(net.layers, x, layer, keras).astype(F32).reshape(n_img, -1)
    tag = "case%02d" % len(cases)
    x.tofile(os.path.join(out, tag + ".in.f32"))
    y.tofile(os.path.join(out, tag + ".out.f32"))
    cases.append("%s %s %d %d %d 3 %d %d %s.in.f32 %s.out.f32" % (
        model, layer or "-", n_img, h, w, int(override), y.shape[1], tag, tag))


def hard_sigmoid_cases(out, cases):
    """hard_sigmoid as the Keras that wrote the file computes it, on inputs spanning [-4, 4]:
    Keras 2.2.4 and tf.keras 2 files; Keras 3 told by keras_version 3.x and its config form,
    by the config form alone (no keras_version) and, in TF.js, by the version alone."""
    n = hard_sigmoid_net()
    x = RNG.permutation(np.linspace(-4, 4, 2 * 5 * 7 * 3)).reshape(2, 5, 7, 3).astype(F32)
    write_h5(os.path.join(out, "hsig_k2.h5"), n, False, "k2")
    write_h5(os.path.join(out, "hsig_tf.h5"), n, False, "tf")
    cfg = to_keras3(keras_config(n, False, "tf"))
    k3_groups = [(g, [(nm.replace(":0", ""), a) for nm, a in ws]) for g, ws in layer_groups(n)]
    write_h5(os.path.join(out, "hsig_k3.h5"), n, False, "tf", config=cfg, groups=k3_groups, version="3.3.3")
    write_h5(os.path.join(out, "hsig_k3_form.h5"), n, False, "tf", config=cfg, groups=k3_groups, version=False)
    for model, keras in (("hsig_k2.h5", 2), ("hsig_tf.h5", 2), ("hsig_k3.h5", 3), ("hsig_k3_form.h5", 3)):
        save_case(out, cases, model, n, 5, 7, x=x, keras=keras)
    write_tfjs(os.path.join(out, "tfjs_hsig_k3"), n, "3.3.3")  # weights now dequantized
    save_case(out, cases, "tfjs_hsig_k3", n, 5, 7, x=x, keras=3)


def main():
    args = [a for a in sys.argv[1:] if a != "--small"]
    if len(args) != 1:
        sys.exit("usage: make_models.py OUTDIR [--small]")
    out = args[0]
    os.makedirs(out, exist_ok=True)
    cases = []
    full = "--small" not in sys.argv[1:]

    n = tiny_vgg()
    write_h5(os.path.join(out, "tiny_vgg.h5"), n, True, "k2")
    write_h5(os.path.join(out, "tiny_vgg_tf.h5"), n, True, "tf")
    save_case(out, cases, "tiny_vgg.h5", n, 32, 32)
    save_case(out, cases, "tiny_vgg_tf.h5", n, 32, 32)
    save_case(out, cases, "tiny_vgg.h5", n, 40, 36, "block2_pool", True)

    n = incep()
    write_h5(os.path.join(out, "incep.h5"), n, False, "tf")
    write_h5(os.path.join(out, "incep_k2.h5"), n, False, "k2")
    write_h5(os.path.join(out, "incep_k3.h5"), n, False, "tf", config=to_keras3(keras_config(n, False, "tf")))
    save_case(out, cases, "incep.h5", n, 19, 17)
    save_case(out, cases, "incep_k2.h5", n, 19, 17, "mixed0")
    save_case(out, cases, "incep_k3.h5", n, 19, 17)

    n = mobilenet_v2(24, 24, full=False)
    write_h5(os.path.join(out, "mnv2_mini.h5"), n, False, "k2")
    save_case(out, cases, "mnv2_mini.h5", n, 24, 24)
    # --size at odd sizes: Keras would rebuild with correct_pad() for the new size
    n2 = mobilenet_v2(25, 23, full=False)
    w24 = {L["name"]: L["weights"] for L in n.layers}
    for L in n2.layers:
        L["weights"] = w24[L["name"]]
    save_case(out, cases, "mnv2_mini.h5", n2, 25, 23, "out_relu", True)
    write_tfjs(os.path.join(out, "tfjs_mnv2"), n)  # weights now dequantized
    save_case(out, cases, "tfjs_mnv2", n, 24, 24)

    n, cfg, groups = nested()
    write_h5(os.path.join(out, "nested.h5"), n, True, "tf", config=cfg, groups=groups)
    save_case(out, cases, "nested.h5", n, 20, 20)
    # TF1 name uniquification: the nested base's weights saved as "b_conv1_2/kernel:0"
    # (found by the "_N" suffix), the top Dense's in its own group as "dense_1/kernel:0"
    # (a group named after the layer takes its only weight of that name)
    def tf1(g, ws):
        suffix = "_2" if g == "tiny_base" else "_1"
        return g, [(nm.replace("/", suffix + "/", 1), a) for nm, a in ws]
    write_h5(os.path.join(out, "nested_tf1.h5"), n, True, "tf", config=cfg, groups=[tf1(g, ws) for g, ws in groups])
    save_case(out, cases, "nested_tf1.h5", n, 20, 20)

    # EfficientNet-like: Rescaling, Normalization, SE blocks (Reshape / keepdims, broadcast
    # Multiply), residual Add, every activation; tf.keras, Keras 2.2.4 and Keras 3 files
    n = effnet_mini(21, 19)
    write_h5(os.path.join(out, "effnet_mini.h5"), n, False, "tf")
    write_h5(os.path.join(out, "effnet_mini_k2.h5"), n, False, "k2")
    cfg = to_keras3(keras_config(n, False, "tf"))
    for L in cfg["config"]["layers"]:  # Keras 3 serializes a per-channel scale as __numpy__
        if L["name"] == "rescaling_1":
            L["config"]["scale"] = {"class_name": "__numpy__", "config": {"value": L["config"]["scale"], "dtype": "float32"}}
    # Keras 3's legacy .h5 names weights by path ("layer/var", no ":0"), and a
    # DepthwiseConv2D's kernel "kernel"
    k3_groups = [(L["name"], [("%s/%s" % (L["name"], "kernel" if k == "depthwise_kernel" else k), a)
                              for k, a in ordered_weights(L)]) for L in n.layers if L["class_name"] != "InputLayer"]
    write_h5(os.path.join(out, "effnet_mini_k3.h5"), n, False, "tf", config=cfg, groups=k3_groups)
    save_case(out, cases, "effnet_mini.h5", n, 21, 19)
    save_case(out, cases, "effnet_mini_k2.h5", n, 21, 19, "block1a_se_excite")
    save_case(out, cases, "effnet_mini_k3.h5", n, 21, 19, "block2a_se_squeeze")  # keepdims: (1, 1, 32)
    save_case(out, cases, "effnet_mini_k3.h5", n, 21, 19, "vec_gate")
    save_case(out, cases, "effnet_mini.h5", n, 21, 19, "avg_pool")  # a vector
    save_case(out, cases, "effnet_mini_k2.h5", n, 21, 19, "zoo_gelu")  # exact gelu, not the tanh form
    # --size: Keras would rebuild correct_pad() for the new size (3x3 and 5x5 stride 2)
    n2 = effnet_mini(24, 26)
    w21 = {L["name"]: L["weights"] for L in n.layers}
    for L in n2.layers:
        L["weights"] = w21[L["name"]]
    save_case(out, cases, "effnet_mini.h5", n2, 24, 26, "top_activation", True)
    write_tfjs(os.path.join(out, "tfjs_effnet_mini"), n)  # weights now dequantized
    save_case(out, cases, "tfjs_effnet_mini", n, 21, 19, "avg_pool")
    n, outs = act_probe()
    write_h5(os.path.join(out, "act_probe.h5"), n, False, "tf")
    for name in outs:
        save_case(out, cases, "act_probe.h5", n, 9, 7, name, n_img=1)

    if full:  # weights-only application files with the real layer names and sizes
        n = vgg16()
        path = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
        with h5py.File(os.path.join(out, path), "w") as f:
            write_weight_groups(f, [("input_1", [])] + layer_groups(n), "k2")
        save_case(out, cases, path, n, 32, 32, None, True)
        save_case(out, cases, "vgg16:" + path, n, 37, 29, "block3_conv3", True, 1)
        n = mobilenet_v2(35, 33)
        path = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
        with h5py.File(os.path.join(out, path), "w") as f:
            write_weight_groups(f, [("input_1", [])] + layer_groups(n), "tf")
        save_case(out, cases, path, n, 35, 33, None, True, 1)
        n = inception_v3()
        path = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
        with h5py.File(os.path.join(out, path), "w") as f:
            write_weight_groups(f, [("input_1", [])] + layer_groups(n), "tf")
        save_case(out, cases, path, n, 77, 75, None, True, 1)
        # MobileNet (v1) at alpha 0.25: the widths come from the file; odd sizes show the
        # ((0, 1), (0, 1)) padding of its stride-2 blocks
        n = mobilenet_v1(37, 35)
        path = "mobilenet_2_5_224_tf_no_top.h5"
        with h5py.File(os.path.join(out, path), "w") as f:
            write_weight_groups(f, [("input_1", [])] + layer_groups(n), "tf")
        save_case(out, cases, path, n, 37, 35, None, True, 1)
        save_case(out, cases, "mobilenet:" + path, n, 37, 35, "conv_pw_5_relu", True, 1)

    write_bad(out, os.path.join(out, "tiny_vgg.h5"))
    hard_sigmoid_cases(out, cases)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")


if __name__ == "__main__":
    main()

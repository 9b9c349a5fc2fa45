#!/usr/bin/python3
"""peer_torch.py - the PyTorch peer for bench_backbone, run at its best (shared/PEERS.md):
channels_last, torch.jit.trace + freeze, inference_mode, warmed up; run it with
LD_PRELOAD=libtcmalloc_minimal.so.4. Same graphs, batch and thread count as featcache:

    peer_torch.py --threads 2 --batch 20 --iters 5 --graphs vgg16,inception_v3,mobilenet_v2

Prints one line per graph: "peer GRAPH IMG_PER_S". Graphs: VGG16 conv base at 150x150
(torchvision vgg16().features, or built here without torchvision), InceptionV3 up to
Mixed_6e (= Keras mixed7) at 150x150, MobileNetV2 features (= Keras out_relu) at 224x224.
"""
import argparse
import sys
import time

import torch
import torch.nn as nn


def vgg16_features():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers)


class InceptionToMixed7(nn.Module):
    """torchvision's InceptionV3 stem and blocks up to Mixed_6e (Keras 'mixed7')."""

    def __init__(self, tv):
        super().__init__()
        m = tv.inception_v3(weights=None, aux_logits=False, init_weights=False)
        names = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
                 "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
                 "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"]
        self.body = nn.Sequential(*[getattr(m, n) for n in names])

    def forward(self, x):
        return self.body(x)


def build(name):
    try:
        import torchvision as tv
    except ImportError:
        tv = None
    if name == "vgg16":
        return (tv.models.vgg16(weights=None).features if tv else vgg16_features()), 150
    if tv is None:
        return None, 0
    if name == "inception_v3":
        return InceptionToMixed7(tv.models), 150
    if name == "mobilenet_v2":
        return tv.models.mobilenet_v2(weights=None).features, 224
    return None, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--graphs", default="vgg16,inception_v3,mobilenet_v2")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for name in a.graphs.split(","):
        model, size = build(name)
        if model is None:
            print(f"peer {name} skipped (needs python3-torchvision)")
            continue
        model = model.eval().to(memory_format=torch.channels_last)
        x = torch.randn(a.batch, 3, size, size).to(memory_format=torch.channels_last)
        with torch.inference_mode():
            traced = torch.jit.freeze(torch.jit.trace(model, x))
            for _ in range(3):
                traced(x)
            best = float("inf")
            for _ in range(a.iters):
                t0 = time.perf_counter()
                traced(x)
                best = min(best, time.perf_counter() - t0)
        print(f"peer {name} {a.batch / best:.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

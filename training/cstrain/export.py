"""ONNX export with a golden pair and a model card, in the layout src/core/models/trained.ts reads.

Image models are wrapped so the ONNX takes and returns NHWC float images in [0, 1] (the layout
ImageModel feeds every network), with dynamic height and width: one file serves every tile size.
The golden pair is the wrapped PyTorch model's output on a seeded input; test/trainedModels.test.ts
runs the ONNX through onnxruntime-node on it and requires max |diff| <= 1e-4.
"""
import base64
import hashlib
import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn

CARD_FORMAT = "clearsight-trained-model/1"
OPSET = 13


class NhwcImage(nn.Module):
    """NHWC [0,1] in, NHWC [0,1] out, around an NCHW network."""

    def __init__(self, net, clamp=True):
        super().__init__()
        self.net = net
        self.clamp = clamp

    def forward(self, x):
        y = self.net(x.permute(0, 3, 1, 2))
        if self.clamp:
            y = y.clamp(0.0, 1.0)
        return y.permute(0, 2, 3, 1)


def count_params(model):
    return int(sum(p.numel() for p in model.parameters()))


def flops_per_megapixel(model, example_inputs, pixels):
    """Multiply-adds x 2 of conv/linear layers for the given inputs, scaled to one megapixel."""
    total = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        cin = m.in_channels // m.groups
        total[0] += 2 * out.numel() * cin * kh * kw

    def convt_hook(m, inp, out):
        kh, kw = m.kernel_size
        total[0] += 2 * inp[0].numel() * (m.out_channels // m.groups) * kh * kw

    def linear_hook(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.ConvTranspose2d):
            hooks.append(m.register_forward_hook(convt_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(*example_inputs)
    for h in hooks:
        h.remove()
    return total[0] * 1e6 / pixels


def _tensor_json(name, t):
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
    return {"name": name, "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode()}


def _write_json_atomic(path, value, indent=None):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=indent)
        f.write("\n")
    os.replace(path + ".tmp", path)


def export(model, out_dir, *, input_names, output_names, golden_inputs, dynamic_axes, card, tolerance=1e-4):
    """Exports `model` (eval mode) to out_dir/model.onnx, writes golden.json and card.json.

    `card` holds everything the schema needs that cannot be measured here (name, task, kind,
    architecture, training, quality, speed, io divisibility/tile...). Returns the card written.
    """
    model = model.eval()
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    tmp = onnx_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, tuple(golden_inputs), tmp, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
        outputs = model(*golden_inputs)
    if not isinstance(outputs, (tuple, list)):
        outputs = (outputs,)
    onnx.checker.check_model(onnx.load(tmp))
    os.replace(tmp, onnx_path)
    golden = {
        "tolerance": tolerance,
        "inputs": [_tensor_json(n, t) for n, t in zip(input_names, golden_inputs)],
        "outputs": [_tensor_json(n, t) for n, t in zip(output_names, outputs)],
    }
    _write_json_atomic(os.path.join(out_dir, "golden.json"), golden)
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    full = {
        "format": CARD_FORMAT,
        "file": "model.onnx",
        "sha256": sha,
        "golden": "golden.json",
        **card,
    }
    full.setdefault("params", count_params(model))
    # The card last, and atomically: its appearance means the model folder is complete.
    _write_json_atomic(os.path.join(out_dir, "card.json"), full, indent=2)
    size = os.path.getsize(onnx_path)
    if size > 5 * 1024 * 1024:
        raise SystemExit(f"{onnx_path} is {size / 2**20:.1f} MiB: the repository takes models of at most 5 MB")
    return full


def export_image_model(net, out_dir, card, golden_size=(48, 64), seed=0, clamp=True):
    """Image-to-image convenience: wraps `net` NHWC, golden on a seeded smooth+noise image."""
    wrapped = NhwcImage(net, clamp=clamp).eval()
    g = torch.Generator().manual_seed(seed)
    h, w = golden_size
    x = torch.rand(1, h, w, 3, generator=g)
    card = dict(card)
    card.setdefault("kind", "image")
    card.setdefault("flopsPerMegapixel", flops_per_megapixel(wrapped, (torch.rand(1, 256, 256, 3),), 256 * 256))
    return export(wrapped, out_dir, input_names=["image"], output_names=["restored"], golden_inputs=[x],
                  dynamic_axes={"image": {1: "height", 2: "width"}, "restored": {1: "height", 2: "width"}}, card=card)

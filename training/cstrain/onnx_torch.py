"""Run an ONNX graph as a trainable torch module, so a network we already ship can be fine-tuned.

The networks worth starting from (Human's face and detector models, converted to ONNX by the
library's own tfjs converter and cached in ~/.cache/clearsight/models) use a small op set: Conv,
Transpose, Add/Mul, Clip/Relu/PRelu/Sigmoid, ReduceMean, Reshape, MaxPool, Pad, Concat, Gemm. No
ONNX-to-torch converter is installable here (only Debian packages), so this interprets the graph
node by node with torch functions. Float initializers become nn.Parameters (trainable), integer
ones (shapes, axes) become buffers. The product never imports this: it is development tooling,
and a fine-tuned network is exported back to ONNX with torch.onnx.export like any trained model.

Parity with onnxruntime: `python3 training/cstrain/onnx_torch.py --check model.onnx` runs both
on one seeded input (onnxruntime through node, the runtime the library uses) and prints the max
abs difference per output.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _onnx_pads_to_torch(pads: list[int]) -> list[int]:
    """ONNX pads are [b1..bn, e1..en] from the first axis; F.pad wants (b_n, e_n, b_n-1, e_n-1, ...)."""
    n = len(pads) // 2
    out: list[int] = []
    for axis in reversed(range(n)):
        out += [int(pads[axis]), int(pads[axis + n])]
    return out


class OnnxModule(torch.nn.Module):
    """An ONNX graph as a torch module. `outputs` picks (and orders) the graph outputs to return.

    `batch_agnostic` rewrites a Reshape target whose first entry is a literal 1 to the input's
    batch size: the tfjs converter bakes batch 1 into flattening reshapes, which training at a
    larger batch would otherwise break. It assumes such reshapes keep the batch axis first, true
    of the graphs this is used on; `--check` confirms parity at batch 1.
    """

    def __init__(self, model: onnx.ModelProto | str | Path, outputs: list[str] | None = None, batch_agnostic: bool = True):
        super().__init__()
        if not isinstance(model, onnx.ModelProto):
            model = onnx.load(str(model))
        self.graph = model.graph
        self.batch_agnostic = batch_agnostic
        self.params = torch.nn.ParameterDict()
        self._keys: dict[str, str] = {}
        self._consts: dict[str, torch.Tensor] = {}
        for k, init in enumerate(self.graph.initializer):
            arr = numpy_helper.to_array(init)
            if arr.dtype.kind == 'f':
                key = f'p{k}'
                self.params[key] = torch.nn.Parameter(torch.from_numpy(arr.astype(np.float32).copy()))
                self._keys[init.name] = key
            else:
                self._consts[init.name] = torch.from_numpy(arr.copy())
        for node in self.graph.node:
            if node.op_type == 'Constant':
                self._consts[node.output[0]] = torch.from_numpy(numpy_helper.to_array(_attrs(node)['value']).copy())
        initialized = {i.name for i in self.graph.initializer}
        self.input_names = [i.name for i in self.graph.input if i.name not in initialized]
        self.output_names = outputs or [o.name for o in self.graph.output]
        unknown = sorted({n.op_type for n in self.graph.node} - set(_OPS) - {'Constant'})
        if unknown:
            raise ValueError(f'onnx_torch: unsupported op(s) {unknown}')

    def _value(self, env: dict, name: str) -> torch.Tensor | None:
        if name == '':
            return None
        if name in env:
            return env[name]
        if name in self._keys:
            return self.params[self._keys[name]]
        if name in self._consts:
            return self._consts[name]
        raise KeyError(f'onnx_torch: value {name!r} is not produced before use')

    def forward(self, *inputs: torch.Tensor):
        if len(inputs) != len(self.input_names):
            raise ValueError(f'expected {len(self.input_names)} input(s) {self.input_names}, got {len(inputs)}')
        env: dict[str, torch.Tensor] = dict(zip(self.input_names, inputs))
        wanted = set(self.output_names)
        for node in self.graph.node:
            if node.op_type == 'Constant':
                continue
            args = [self._value(env, n) for n in node.input]
            out = _OPS[node.op_type](self, args, _attrs(node))
            outs = out if isinstance(out, tuple) else (out,)
            for name, value in zip(node.output, outs):
                env[name] = value
            if wanted.issubset(env):
                break
        result = tuple(env[n] for n in self.output_names)
        return result[0] if len(result) == 1 else result


def _conv(m, a, at):
    x, w, b = a[0], a[1], a[2] if len(a) > 2 else None
    strides = at.get('strides', [1, 1])
    dil = at.get('dilations', [1, 1])
    group = at.get('group', 1)
    pads = at.get('pads', [0] * (2 * (w.dim() - 2)))
    if at.get('auto_pad', b'NOTSET') not in (b'NOTSET', 'NOTSET', b'VALID', 'VALID'):
        pads = _same_pads(x.shape[2:], w.shape[2:], strides, dil, at['auto_pad'])
    x = F.pad(x, _onnx_pads_to_torch(pads)) if any(pads) else x
    return F.conv2d(x, w, b, stride=strides, dilation=dil, groups=group)


def _same_pads(size, kernel, strides, dil, mode):
    begins, ends = [], []
    for n, k, s, d in zip(size, kernel, strides, dil):
        out = -(-int(n) // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - int(n))
        lo = total // 2 if mode in (b'SAME_UPPER', 'SAME_UPPER') else total - total // 2
        begins.append(lo)
        ends.append(total - lo)
    return begins + ends


def _maxpool(m, a, at):
    x = a[0]
    k = at['kernel_shape']
    strides = at.get('strides', [1] * len(k))
    pads = at.get('pads', [0] * (2 * len(k)))
    if at.get('auto_pad', b'NOTSET') not in (b'NOTSET', 'NOTSET', b'VALID', 'VALID'):
        pads = _same_pads(x.shape[2:], k, strides, [1] * len(k), at['auto_pad'])
    if any(pads):
        x = F.pad(x, _onnx_pads_to_torch(pads), value=float('-inf'))
    return F.max_pool2d(x, k, strides)


def _reshape(m, a, at):
    x, shape = a[0], [int(v) for v in a[1].tolist()]
    shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    if m.batch_agnostic and shape and shape[0] == 1 and x.shape[0] != 1:
        shape[0] = x.shape[0]
    return x.reshape(shape)


def _clip(m, a, at):
    lo = a[1] if len(a) > 1 and a[1] is not None else at.get('min')
    hi = a[2] if len(a) > 2 and a[2] is not None else at.get('max')
    lo = None if lo is None else float(lo)
    hi = None if hi is None else float(hi)
    return torch.clamp(a[0], lo, hi)


def _reduce_mean(m, a, at):
    axes = at.get('axes') if len(a) < 2 or a[1] is None else a[1].tolist()
    keep = bool(at.get('keepdims', 1))
    return a[0].mean(dim=[int(v) for v in axes], keepdim=keep) if axes is not None else a[0].mean()


def _pad(m, a, at):
    mode = at.get('mode', b'constant')
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = [int(v) for v in (a[1].tolist() if len(a) > 1 else at['pads'])]
    value = float(a[2]) if len(a) > 2 and a[2] is not None else float(at.get('value', 0.0))
    return F.pad(a[0], _onnx_pads_to_torch(pads), mode=mode, value=value) if mode == 'constant' else F.pad(a[0], _onnx_pads_to_torch(pads)[:4], mode=mode)


def _gemm(m, a, at):
    x, w = a[0], a[1]
    if at.get('transA', 0):
        x = x.t()
    if at.get('transB', 0):
        w = w.t()
    y = at.get('alpha', 1.0) * (x @ w)
    return y + at.get('beta', 1.0) * a[2] if len(a) > 2 and a[2] is not None else y


def _fold(op, values):
    out = values[0]
    for v in values[1:]:
        out = op(out, v.to(out.dtype))
    return out


def _prelu(m, a, at):
    x, slope = a[0], a[1]
    return torch.where(x >= 0, x, x * slope)


_OPS = {
    'Conv': _conv,
    'MaxPool': _maxpool,
    'Reshape': _reshape,
    'Clip': _clip,
    'ReduceMean': _reduce_mean,
    'Pad': _pad,
    'Gemm': _gemm,
    'PRelu': _prelu,
    'Transpose': lambda m, a, at: a[0].permute(*at['perm']),
    'Add': lambda m, a, at: a[0] + a[1],
    'Sub': lambda m, a, at: a[0] - a[1],
    'Mul': lambda m, a, at: a[0] * a[1],
    'Div': lambda m, a, at: a[0] / a[1],
    'Relu': lambda m, a, at: F.relu(a[0]),
    'Sigmoid': lambda m, a, at: torch.sigmoid(a[0]),
    'Tanh': lambda m, a, at: torch.tanh(a[0]),
    'HardSigmoid': lambda m, a, at: torch.clamp(at.get('alpha', 0.2) * a[0] + at.get('beta', 0.5), 0, 1),
    'Concat': lambda m, a, at: torch.cat(a, dim=at['axis']),
    'MatMul': lambda m, a, at: a[0] @ a[1],
    # variadic element-wise; faceres writes ReLU6 as Min/Max against scalar constants
    'Min': lambda m, a, at: _fold(torch.minimum, a),
    'Max': lambda m, a, at: _fold(torch.maximum, a),
    'Identity': lambda m, a, at: a[0],
    'GlobalAveragePool': lambda m, a, at: a[0].mean(dim=(2, 3), keepdim=True),
    'Flatten': lambda m, a, at: a[0].flatten(at.get('axis', 1)),
    'Softmax': lambda m, a, at: torch.softmax(a[0], dim=at.get('axis', -1)),
}


_ORT_SCRIPT = r"""
import * as ort from 'onnxruntime-node';
import { readFileSync, writeFileSync } from 'node:fs';
const [model, inputPath, shapeJson, outDir] = process.argv.slice(1);
const shape = JSON.parse(shapeJson);
const buf = readFileSync(inputPath);
const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, shape) });
const meta = {};
for (const [k, t] of Object.entries(out)) { writeFileSync(`${outDir}/${k}.bin`, Buffer.from(t.data.buffer)); meta[k] = t.dims; }
writeFileSync(`${outDir}/meta.json`, JSON.stringify(meta));
"""


def check_parity(path: str, repo: Path) -> float:
    """Max abs difference between this module and onnxruntime-node on one seeded input in [0, 255]."""
    model = onnx.load(path)
    module = OnnxModule(model).eval()
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(1).uniform(0, 255, size=dims).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        x.tofile(f'{tmp}/in.bin')
        subprocess.run(['node', '--input-type=module', '-e', _ORT_SCRIPT, path, f'{tmp}/in.bin', json.dumps(dims), tmp], check=True, cwd=repo)
        meta = json.loads(Path(f'{tmp}/meta.json').read_text())
        with torch.no_grad():
            got = module(torch.from_numpy(x))
        got = got if isinstance(got, tuple) else (got,)
        worst = 0.0
        for name, value in zip(module.output_names, got):
            ref = np.fromfile(f'{tmp}/{name}.bin', dtype=np.float32).reshape(meta[name])
            diff = float(np.abs(ref - value.numpy()).max())
            scale = float(np.abs(ref).max())
            print(f'{name}: shape {list(ref.shape)}, max |ref| {scale:.4g}, max abs diff {diff:.3g}')
            worst = max(worst, diff / max(1.0, scale))
    return worst


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', nargs='+', required=True, help='ONNX files to compare with onnxruntime-node')
    args = ap.parse_args()
    repo = Path(__file__).resolve().parents[2]
    worst = max(check_parity(p, repo) for p in args.check)
    print(f'worst relative diff {worst:.3g}')
    sys.exit(0 if worst <= 1e-4 else 1)

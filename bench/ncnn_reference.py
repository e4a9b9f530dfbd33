#!/usr/bin/env python3
"""Independent numpy reference for ncnn models (development tooling, not part of the product).

Reads an ncnn .param/.bin pair with its own parser and runs the layers the TypeScript converter
(src/core/models/ncnn) supports, following ncnn's CPU reference code (src/layer/*.cpp), including
Interp's bicubic with ncnn's own edge handling (coefficients folded onto the border taps) rather
than ONNX's index clamping. Used by bench/ncnn-parity.ts:

    python3 bench/ncnn_reference.py model.param model.bin input.f32 C H W output.f32 OC OH OW

prints the largest absolute difference between the given output (from onnxruntime on the
converted model) and this reference, and exits 1 if it exceeds 1e-3.
"""
import struct
import sys

import numpy as np


def parse_param(path):
    lines = [l.strip() for l in open(path) if l.strip()]
    assert int(lines[0]) == 7767517, "not an ncnn text param file"
    n_layers, _ = map(int, lines[1].split())
    layers = []
    for line in lines[2 : 2 + n_layers]:
        f = line.split()
        typ, name, nb, nt = f[0], f[1], int(f[2]), int(f[3])
        bottoms, tops = f[4 : 4 + nb], f[4 + nb : 4 + nb + nt]
        params = {}
        for kv in f[4 + nb + nt :]:
            k, v = kv.split("=")
            k = int(k)
            if k <= -23300:
                vals = [float(x) for x in v.split(",")]
                params[-23300 - k] = vals[1:]
            else:
                params[k] = float(v) if ("." in v or "e" in v) else int(v)
        layers.append((typ, name, bottoms, tops, params))
    return layers


class Bin:
    def __init__(self, path):
        self.b = open(path, "rb").read()
        self.o = 0

    def raw(self, n):
        v = np.frombuffer(self.b, dtype="<f4", count=n, offset=self.o).astype(np.float64)
        self.o += 4 * n
        return v

    def tagged(self, n):
        tag = struct.unpack_from("<I", self.b, self.o)[0]
        self.o += 4
        if tag == 0x01306B47:
            v = np.frombuffer(self.b, dtype="<f2", count=n, offset=self.o).astype(np.float64)
            self.o += (2 * n + 3) & ~3
            return v
        if tag == 0:
            return self.raw(n)
        raise ValueError("unsupported weight tag %x" % tag)


def conv2d(x, w, b, stride, pads, dil, group):
    # x: C,H,W ; w: O, C/g, kh, kw ; pads: top, left, bottom, right
    c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[1] - dil * (kh - 1) - 1) // stride + 1
    ow = (xp.shape[2] - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((o, oh, ow))
    og = o // group
    for gi in range(group):
        xs = xp[gi * cg : (gi + 1) * cg]
        ws = w[gi * og : (gi + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, i * dil : i * dil + stride * oh : stride, j * dil : j * dil + stride * ow : stride]
                out[gi * og : (gi + 1) * og] += np.einsum("oc,chw->ohw", ws[:, :, i, j], patch)
    if b is not None:
        out += b[:, None, None]
    return out


def cubic_weights(fx):
    a = -0.75
    x0, x1, x2, x3 = fx + 1, fx, 1 - fx, 2 - fx
    return np.array(
        [
            ((a * x0 - 5 * a) * x0 + 8 * a) * x0 - 4 * a,
            ((a + 2) * x1 - (a + 3)) * x1 * x1 + 1,
            ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1,
            1 - (((a * x0 - 5 * a) * x0 + 8 * a) * x0 - 4 * a) - (((a + 2) * x1 - (a + 3)) * x1 * x1 + 1) - (((a + 2) * x2 - (a + 3)) * x2 * x2 + 1),
        ]
    )


def cubic_coeffs(w, outw):
    """ncnn interp.cpp cubic_coeffs (align_corner = 0): offsets and 4 weights per output column."""
    scale = w / outw
    ofs, alpha = [], []
    for dx in range(outw):
        fx = (dx + 0.5) * scale - 0.5
        sx = int(np.floor(fx))
        fx -= sx
        a = list(cubic_weights(fx))
        if sx <= -1:
            sx = 1
            a = [1 - a[3], a[3], 0, 0]
        if sx == 0:
            sx = 1
            a = [a[0] + a[1], a[2], a[3], 0]
        if sx == w - 2:
            sx = w - 3
            a = [0, a[0], a[1], a[2] + a[3]]
        if sx >= w - 1:
            sx = w - 3
            a = [0, 0, a[0], 1 - a[0]]
        ofs.append(sx)
        alpha.append(a)
    return ofs, alpha


def resize_bicubic(x, s):
    c, h, w = x.shape
    oh, ow = int(h * s), int(w * s)
    xo, xa = cubic_coeffs(w, ow)
    yo, ya = cubic_coeffs(h, oh)
    tmp = np.zeros((c, h, ow))
    for dx in range(ow):
        for k in range(4):
            tmp[:, :, dx] += xa[dx][k] * x[:, :, xo[dx] - 1 + k]
    out = np.zeros((c, oh, ow))
    for dy in range(oh):
        for k in range(4):
            out[:, dy, :] += ya[dy][k] * tmp[:, yo[dy] - 1 + k, :]
    return out


def resize_nearest(x, s):
    c, h, w = x.shape
    oh, ow = int(h * s), int(w * s)
    ys = np.minimum((np.arange(oh) * (1.0 / s)).astype(int), h - 1)
    xs = np.minimum((np.arange(ow) * (1.0 / s)).astype(int), w - 1)
    return x[:, ys][:, :, xs]


def resize_bilinear(x, s):
    c, h, w = x.shape
    oh, ow = int(h * s), int(w * s)

    def axis(n, on):
        f = (np.arange(on) + 0.5) * (n / on) - 0.5
        f = np.maximum(f, 0)
        i0 = np.minimum(np.floor(f).astype(int), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        return i0, i1, f - i0

    y0, y1, fy = axis(h, oh)
    x0, x1, fx = axis(w, ow)
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bot = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy[:, None]) + bot * fy[:, None]


def act(x, p):
    t = p.get(9, 0)
    ap = p.get(10, [])
    if t == 0:
        return x
    if t == 1:
        return np.maximum(x, 0)
    if t == 2:
        return np.where(x > 0, x, x * ap[0])
    if t == 3:
        return np.clip(x, ap[0], ap[1])
    if t == 4:
        return 1 / (1 + np.exp(-x))
    raise ValueError("activation %d" % t)


def run(param, binf, x):
    layers = parse_param(param)
    wb = Bin(binf)
    blobs = {}
    consumed = set()
    for typ, name, bottoms, tops, p in layers:
        ins = [blobs[b] for b in bottoms]
        consumed.update(bottoms)
        if typ == "Input":
            y = [x]
        elif typ in ("Split", "Noop", "Dropout"):
            y = [ins[0]] * len(tops)
        elif typ in ("Convolution", "ConvolutionDepthWise"):
            o, kw = p[0], p[1]
            kh = p.get(11, kw)
            size = p[6]
            group = p.get(7, 1) if typ == "ConvolutionDepthWise" else 1
            cin = ins[0].shape[0]
            w = wb.tagged(size).reshape(o, cin // group, kh, kw)
            b = wb.raw(o) if p.get(5, 0) else None
            pl = p.get(4, 0)
            pt = p.get(14, pl)
            pads = (pt, pl, p.get(16, pt), p.get(15, pl))
            y = [act(conv2d(ins[0], w, b, p.get(3, 1), pads, p.get(2, 1), group), p)]
        elif typ == "PReLU":
            n = p.get(0, 0)
            s = wb.raw(n)
            s = s[:, None, None] if n > 1 else s[0]
            y = [np.where(ins[0] > 0, ins[0], ins[0] * s)]
        elif typ == "ReLU":
            sl = p.get(0, 0.0)
            y = [np.where(ins[0] > 0, ins[0], ins[0] * sl)]
        elif typ == "PixelShuffle":
            r = p[0]
            c, h, w = ins[0].shape
            t = ins[0].reshape(c // (r * r), r, r, h, w).transpose(0, 3, 1, 4, 2)
            y = [t.reshape(c // (r * r), h * r, w * r)]
        elif typ == "Interp":
            s = float(p[1])
            t = p[0]
            y = [resize_nearest(ins[0], s) if t == 1 else resize_bilinear(ins[0], s) if t == 2 else resize_bicubic(ins[0], s)]
        elif typ == "BinaryOp":
            op = p.get(0, 0)
            a = ins[0]
            b = ins[1] if len(ins) > 1 else float(p.get(2, 0))
            f = [lambda u, v: u + v, lambda u, v: u - v, lambda u, v: u * v, lambda u, v: u / v, np.maximum, np.minimum, np.power, lambda u, v: v - u, lambda u, v: v / u][op]
            y = [f(a, b)]
        elif typ == "Eltwise":
            op = p.get(0, 0)
            co = p.get(1, [1] * len(ins))
            if op == 1:
                y = [sum(c * v for c, v in zip(co, ins))]
            elif op == 0:
                y = [np.prod(ins, axis=0)]
            else:
                y = [np.max(ins, axis=0)]
        elif typ == "Concat":
            y = [np.concatenate(ins, axis=0)]
        else:
            raise ValueError("layer type " + typ)
        for t, v in zip(tops, y):
            blobs[t] = v
    assert wb.o == len(wb.b), "bin not fully read"
    outs = [b for b in blobs if b not in consumed]
    return blobs[outs[0]]


def main():
    param, binf, xin, c, h, w, yout, oc, oh, ow = sys.argv[1:11]
    x = np.fromfile(xin, dtype="<f4").astype(np.float64).reshape(int(c), int(h), int(w))
    y = np.fromfile(yout, dtype="<f4").astype(np.float64).reshape(int(oc), int(oh), int(ow))
    ref = run(param, binf, x)
    assert ref.shape == y.shape, (ref.shape, y.shape)
    d = np.abs(ref - y)
    print("max_abs_diff %.3g mean_abs_diff %.3g ref_range %.3f..%.3f" % (d.max(), d.mean(), ref.min(), ref.max()))
    sys.exit(0 if d.max() <= 1e-3 else 1)


if __name__ == "__main__":
    main()

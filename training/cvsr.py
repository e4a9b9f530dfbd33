"""The compressed-video upscaler (models/vsr-cvsr, `vsr --model cvsr`): x4, aligned by the codec's
motion vectors.

Input (built in TypeScript by src/video/cvsr.ts, the same code for training and product): five LR
planes, NCHW [1, 5, h, w]: the decoded frame as RGB in [0, 1], and the luma of its L0 / L1
neighbours warped onto it by the decoded H.264 vectors (normalised luma; the frame's own luma where
a list predicts nothing). The network works on luma at LR resolution: [y, l0 - y, l1 - y] ->
3x3 conv 32 -> 2 residual blocks (conv-ReLU-conv) -> conv 32 -> conv 16 -> pixel shuffle x4: a luma
correction added to the bicubic x4 of the RGB (chroma stays bicubic). Output NCHW [1, 3, 4h, 4w] in [0, 1].

Data: training/cache/cvsr (training/prepare/cvsr.ts). Split by source: Kodak24 clips are the
validation source (choices only), everything else trains. The test clips (Vid4 city/foliage/walk,
MIT EVM baby) are never read here.

Loss: Charbonnier on the BT.601 luma (the metric's channel), Adam, cosine learning rate.

  /usr/bin/python3 training/cvsr.py [--steps N] [--threads 1] [--seed 1] [--smoke] [--resume]
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cstrain import export as cexport  # noqa: E402
from cstrain import run  # noqa: E402
from cstrain.patchset import PatchSet  # noqa: E402

NAME = "vsr-cvsr"
SCALE = 4
LUMA = (0.299, 0.587, 0.114)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(x)))


class Cvsr(nn.Module):
    """NCHW [N, 5, h, w] (RGB, L0 luma, L1 luma) -> NCHW [N, 3, 4h, 4w]."""

    def __init__(self, ch=32, blocks=2):
        super().__init__()
        self.head = nn.Conv2d(3, ch, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(ch) for _ in range(blocks)])
        self.mid = nn.Conv2d(ch, ch, 3, padding=1)
        self.tail = nn.Conv2d(ch, SCALE * SCALE, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def luma_residual(self, x):
        rgb = x[:, 0:3]
        y = LUMA[0] * rgb[:, 0:1] + LUMA[1] * rgb[:, 1:2] + LUMA[2] * rgb[:, 2:3]
        z = torch.cat([y, x[:, 3:4] - y, x[:, 4:5] - y], 1)
        f = F.relu(self.head(z))
        f = self.body(f)
        f = F.relu(self.mid(f))
        return F.pixel_shuffle(self.tail(f), SCALE)

    def forward(self, x):
        up = F.interpolate(x[:, 0:3], scale_factor=SCALE, mode="bicubic", align_corners=False)
        return (up + self.luma_residual(x)).clamp(0.0, 1.0)


def luma(rgb):
    return LUMA[0] * rgb[:, 0:1] + LUMA[1] * rgb[:, 1:2] + LUMA[2] * rgb[:, 2:3]


def to_input(lr_u8):
    """uint8 [N, h, w, 5] patch -> float NCHW network input (as src/video/cvsr.ts cvsrPlanes builds it)."""
    t = torch.from_numpy(np.ascontiguousarray(lr_u8)).float().permute(0, 3, 1, 2)
    return torch.cat([t[:, 0:3] / 255.0, (t[:, 3:5] - 16.0) / 219.0], 1)


def to_gt(gt_u8):
    return torch.from_numpy(np.ascontiguousarray(gt_u8)).float().permute(0, 3, 1, 2) / 255.0


def dihedral(x, k):
    if k & 4:
        x = x.transpose(2, 3)
    if k & 1:
        x = x.flip(3)
    if k & 2:
        x = x.flip(2)
    return x


def psnr_y(a, b):
    """MATLAB BT.601 Y-PSNR (the bench's metric) per item, on [0,1] RGB."""
    ya = (65.481 * a[:, 0] + 128.553 * a[:, 1] + 24.966 * a[:, 2]) / 255 + 16 / 255
    yb = (65.481 * b[:, 0] + 128.553 * b[:, 1] + 24.966 * b[:, 2]) / 255 + 16 / 255
    mse = ((ya - yb) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def evaluate(net, ps, idx, batch=32):
    net.eval()
    model, bic = [], []
    with torch.no_grad():
        for s in range(0, len(idx), batch):
            ii = idx[s:s + batch]
            x = to_input(ps["lr"][ii])
            g = to_gt(ps["gt"][ii])
            up = F.interpolate(x[:, 0:3], scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(0, 1)
            model.append(psnr_y(net(x), g))
            bic.append(psnr_y(up, g))
    net.train()
    return float(torch.cat(model).mean()), float(torch.cat(bic).mean())


def main():
    p = run.parser(__doc__.split("\n")[0], default_steps=4000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ch", type=int, default=32)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--version", default="1.0.0")
    args = p.parse_args()
    run.setup(args)
    data_dir = args.data or os.path.join(run.REPO, "training", "cache", "smoke/cvsr" if args.smoke else "cvsr")
    ps = PatchSet(data_dir)
    train_idx = ps.indices(split="train")
    val_idx = ps.indices(split="val")
    if not train_idx or not val_idx:
        raise SystemExit(f"{data_dir}: needs train and val items (got {len(train_idx)} / {len(val_idx)})")
    out = run.out_dir(args, NAME)
    net = Cvsr(args.ch, args.blocks)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    ckpt = run.checkpoint_path(NAME + ("-smoke" if args.smoke else ""))
    start = 0
    log = run.LossLog(os.path.join(run.REPO, "training", "cache", f"{NAME}{'-smoke' if args.smoke else ''}-loss.csv"))
    best = (-1.0, None)
    if args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
        log.rows = state["log"]
        best = (state["best_psnr"], state["best_net"])
    rng = np.random.default_rng(args.seed + start)
    t0 = time.time()
    wall_before = log.rows[-1]["seconds"] if log.rows else 0.0
    running = 0.0
    for step in range(start, args.steps):
        lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        for gparam in opt.param_groups:
            gparam["lr"] = lr
        ii = np.sort(rng.choice(train_idx, size=args.batch, replace=len(train_idx) < args.batch))
        x = to_input(ps["lr"][ii])
        g = to_gt(ps["gt"][ii])
        k = int(rng.integers(8))
        x, g = dihedral(x, k), dihedral(g, k)
        up = F.interpolate(x[:, 0:3], scale_factor=SCALE, mode="bicubic", align_corners=False)
        pred_y = luma(up) + net.luma_residual(x)
        loss = torch.sqrt((pred_y - luma(g)) ** 2 + 1e-6).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        running += float(loss)
        if (step + 1) % 25 == 0:
            log.add(step + 1, train_loss=running / 25)
            running = 0.0
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            vp, vb = evaluate(net, ps, val_idx)
            log.add(step + 1, val_gain_db=max(1e-3, vp - vb))
            if vp > best[0]:
                best = (vp, {k2: v.clone() for k2, v in net.state_dict().items()})
            el = time.time() - t0
            print(f"step {step + 1}: loss {float(loss):.5f} val Y-PSNR {vp:.3f} (bicubic {vb:.3f}, +{vp - vb:.3f}) lr {lr:.2e} {el:.0f}s", flush=True)
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step + 1, "log": log.rows, "best_psnr": best[0], "best_net": best[1]}, ckpt)
    wall = wall_before + (time.time() - t0)
    # The last weights are exported (the cosine schedule ends there); the best validation step is reported.
    vp, vb = evaluate(net, ps, val_idx)
    log.save(os.path.join(out, "loss.png"), f"{NAME}: Charbonnier luma loss (train), val gain over bicubic (dB)")
    net.eval()
    g = torch.Generator().manual_seed(args.seed)
    golden = torch.rand(1, 5, 24, 32, generator=g)
    flops_lr = cexport.flops_per_megapixel(net, (torch.rand(1, 5, 64, 64),), 64 * 64)
    card = {
        "name": NAME,
        "version": args.version,
        "task": "vsr",
        "kind": "tensor",
        "architecture": (
            f"cvsr: luma [y, l0-y, l1-y] at LR (l0/l1 = neighbours warped by the decoded H.264 motion vectors, in TypeScript) -> "
            f"conv3x3 {args.ch} -> {args.blocks} residual blocks (conv-ReLU-conv) -> conv3x3 {args.ch} -> conv3x3 16 -> pixel shuffle x4, "
            "added to bicubic x4 of the RGB (chroma bicubic); all ReLU"
        ),
        "flopsPerMegapixel": flops_lr,
        "io": {
            "inputs": [{"name": "planes", "shape": [1, 5, "height", "width"], "range": [0, 1]}],
            "outputs": [{"name": "image", "shape": [1, 3, "4*height", "4*width"], "meaning": "x4 RGB, NCHW [0,1]"}],
            "divisibility": 1,
            "scale": SCALE,
            "maxTile": 512,
            "minTile": 16,
            "overlap": 8,
        },
        "training": {
            "data": [
                {"source": src, "count": n, "manifestSha256": ps.manifest_sha256, "role": "val" if src.startswith("Kodak24") else "train"}
                for src, n in sorted(_by_set(ps).items())
            ],
            "split": "by source: Kodak24 clips = validation (choices); CBSD68, McMaster, Set14 clips, Vid4 calendar, MIT EVM guitar, 4 live face clips = train. "
            "Test clips (Vid4 city/foliage/walk, MIT EVM baby) never used.",
            "seed": args.seed,
            "command": run.command_line(),
            "steps": args.steps,
            "wallTimeSeconds": round(wall, 1),
            "machine": run.machine(),
            "lossCurve": "loss.png",
        },
        "quality": [
            {
                "dataset": f"Kodak24 synthetic-camera clips, {len(val_idx)} 48x48 LR windows (x4 bicubic/area down, H.264 CRF 18-32)",
                "split": "held-out",
                "metric": "Y-PSNR (dB)",
                "value": round(vp, 3),
                "reference": {"name": "bicubic (torch, a=-0.75)", "value": round(vb, 3)},
                "note": f"validation source: used for choices; best seen {best[0]:.3f} dB",
                "command": run.command_line(),
            }
        ],
        "notes": [
            "FLOPs per megapixel are per LR input megapixel (x16 output pixels); the bicubic Resize is not counted.",
            "The ONNX is a plain network: the warp by the codec's vectors and the residual-based skip live in src/video (vsr codec mode).",
        ],
    }
    cexport.export(net, out, input_names=["planes"], output_names=["image"], golden_inputs=[golden],
                   dynamic_axes={"planes": {2: "height", 3: "width"}, "image": {2: "height4", 3: "width4"}}, card=card)
    print(f"exported {out} (val Y-PSNR {vp:.3f}, bicubic {vb:.3f}, +{vp - vb:.3f} dB; {wall:.0f} s)")


def _by_set(ps):
    counts = {}
    for it in ps.items:
        key = it.get("set", it.get("group", "unknown"))
        counts[key] = counts.get(key, 0) + 1
    return counts


if __name__ == "__main__":
    main()

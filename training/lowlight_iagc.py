"""Illumination-aware gamma correction, learned coarse to fine (the S8 design), plus a light refinement.

    /usr/bin/python3 training/lowlight_iagc.py [--steps N] [--seed 1] [--threads 1] [--smoke] [--resume]

Data: training/cache/lowlight-iagc (train: Kodak24 + CBSD68, val: Set14) and lowlight-iagc-test
(McMaster, never trained on: the uniform and the spatial held-out pairs), written by
training/prepare/lowlight.ts (`npm run prepare:lowlight-iagc`).

The pipeline (the library runs the same steps: src/restore/lowlight/iagc.ts):
  1. thumbnail: the picture area-averaged by an integer-ish factor f (longer side <= 128 at inference;
     f in {3, 4, 6} on the 192 px training crops);
  2. ESTIMATOR (ONNX `lowlight-iagc`) on the thumbnail: a global branch (pooled features + the mean
     log-value) and a local branch (1/4 of the thumbnail) give per-cell coefficients (a, b, c) of
     a quadratic in t = 2L - 1 for log gamma, on top of the classical prior
         log gamma = ln(alpha) t,   alpha = max(1, ln(mean V) / ln 0.5)       (gamma.ts, Schettini 2010)
     and three white-balance gains (the largest 1). Coarse (one per image) to fine (per cell):
         log gamma(x) = a(x) + (ln alpha + b(x)) t(x) + c(x) t(x)^2,   a/b/c = global + local;
  3. fine: the coefficient maps are upsampled bilinearly to full resolution and evaluated at each
     pixel's own illumination L (the library's estimateIllumination: an edge-preserving map), so the
     gamma follows edges at full resolution although the network only ran on the thumbnail;
  4. y_c = gain_c * x_c * V^gamma / V with V = max(R, G, B) (V^gamma by the library's Taylor-series
     powTaylorArray at inference; torch.pow here: they differ by < 1e-4). Never brighter than 1 in V
     before the gains: no clipping by the gamma itself;
  5. REFINER (ONNX `lowlight-iagc-refine`, an image model, tiled): y + r(y), four 3x3 convolutions
     (16 channels, dilations 1, 2, 4, 1): noise and colour residue.
Both ONNX files are exported from one training run; loss = L1(out) + 0.5 L1(y) against the clean photo.
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

NAME = "lowlight-iagc"
REFINE_NAME = "lowlight-iagc-refine"
# gamma in [0.2, 1]: a low-light enhancer never darkens (gamma > 1 crushed the shadows of real
# night photos in a first model trained with [0.1, 2]), and V^0.2 reaches 254/255 only for
# V >= 0.98, so the gamma cannot blow out highlights that were not already there.
LOG_GAMMA_MIN = math.log(0.2)
LOG_GAMMA_MAX = 0.0
THUMB_MAX = 128
TRAIN_FACTORS = (3, 4, 6)
V_FLOOR = 1.0 / 1024
REFINE_WINDOW = 96


def thumb_factor(h, w):
    """The library's rule (iagc.ts thumbnailSize): the smallest integer factor bringing the longer side to <= 128."""
    return max(1, math.ceil(max(h, w) / THUMB_MAX))


class Estimator(nn.Module):
    """Thumbnail NCHW [0,1] -> coefficient maps (N, 3, h/4, w/4) for log gamma, and 3 white-balance gains."""

    def __init__(self, width=24):
        super().__init__()
        self.enc1 = nn.Conv2d(4, 16, 3, padding=1)
        self.enc2 = nn.Conv2d(16, width, 3, stride=2, padding=1)
        self.enc3 = nn.Conv2d(width, 32, 3, stride=2, padding=1)
        self.glob = nn.Sequential(nn.Linear(32 + 2, 32), nn.ReLU(), nn.Linear(32, 6))
        self.local = nn.Sequential(nn.Conv2d(64, 32, 1), nn.ReLU(), nn.Conv2d(32, 3, 3, padding=1))
        # Start exactly at the classical S8 gamma (zero corrections, unit gains).
        for last in (self.glob[-1], self.local[-1]):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, thumb):
        v = thumb.max(dim=1, keepdim=True)[0]
        f = F.relu(self.enc1(torch.cat([thumb, v], 1)))
        f = F.relu(self.enc2(f))
        f = F.relu(self.enc3(f))
        g = f.mean(dim=(2, 3))
        m = v.mean(dim=(2, 3))
        logv = torch.log(v + 1.0 / 255).mean(dim=(2, 3))
        head = self.glob(torch.cat([g, m, logv], 1))
        ln_alpha = torch.log(torch.clamp(torch.log(torch.clamp(m, min=1e-3)) / math.log(0.5), min=1.0))
        prior = torch.cat([torch.zeros_like(ln_alpha), ln_alpha, torch.zeros_like(ln_alpha)], 1)
        glob = (head[:, :3] + prior)[:, :, None, None]
        local = self.local(torch.cat([f, g[:, :, None, None].expand_as(f)], 1))
        coeffs = glob + local
        w = head[:, 3:]
        gains = torch.exp(w - w.max(dim=1, keepdim=True)[0])  # largest gain 1: white balance never pushes a channel past 1
        return coeffs, gains


class Refiner(nn.Module):
    """y + r(y): four 3x3 convolutions, receptive field 17 px."""

    def __init__(self, width=16):
        super().__init__()
        self.c1 = nn.Conv2d(3, width, 3, padding=1)
        self.c2 = nn.Conv2d(width, width, 3, padding=2, dilation=2)
        self.c3 = nn.Conv2d(width, width, 3, padding=4, dilation=4)
        self.c4 = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.c4.weight)
        nn.init.zeros_(self.c4.bias)

    def forward(self, y):
        r = F.relu(self.c1(y))
        r = F.relu(self.c2(r))
        r = F.relu(self.c3(r))
        return y + self.c4(r)


def gamma_map(coeffs, L):
    """Full-resolution gamma from the coefficient maps and the illumination L (N,1,H,W)."""
    c = F.interpolate(coeffs, size=L.shape[-2:], mode="bilinear", align_corners=False)
    t = 2 * L - 1
    logg = c[:, 0:1] + c[:, 1:2] * t + c[:, 2:3] * t * t
    return torch.exp(logg.clamp(LOG_GAMMA_MIN, LOG_GAMMA_MAX))


def apply_gamma(x, gamma, gains):
    """gain_c x_c V^gamma / V, clamped to [0, 1] (iagc.ts applyIagc does the same with powTaylorArray)."""
    v = x.max(dim=1, keepdim=True)[0].clamp(min=V_FLOOR)
    y = x * torch.exp((gamma - 1) * torch.log(v)) * gains[:, :, None, None]
    return y.clamp(0, 1)


class Pipeline(nn.Module):
    def __init__(self):
        super().__init__()
        self.estimator = Estimator()
        self.refiner = Refiner()

    def forward(self, x, L, factor, window=None):
        """Refined output and gamma stage. `window` (y, x, side): refine only that window (training: the
        estimator needs the whole crop for context, the refiner's loss does not; 4x less work)."""
        thumb = F.avg_pool2d(x, factor) if factor > 1 else x
        coeffs, gains = self.estimator(thumb)
        y = apply_gamma(x, gamma_map(coeffs, L), gains)
        yr = y if window is None else y[:, :, window[0]:window[0] + window[2], window[1]:window[1] + window[2]]
        return self.refiner(yr).clamp(0, 1), y


def to_tensor(u8):
    return torch.from_numpy(np.ascontiguousarray(u8)).permute(0, 3, 1, 2).float() / 255.0


def batch(ps, idx, rng):
    low = to_tensor(ps["low"][idx])
    high = to_tensor(ps["high"][idx])
    L = torch.from_numpy(np.ascontiguousarray(ps["illum"][idx])).permute(0, 3, 1, 2).float()
    if rng.random() < 0.5:
        low, high, L = low.flip(3), high.flip(3), L.flip(3)
    if rng.random() < 0.5:
        low, high, L = low.flip(2), high.flip(2), L.flip(2)
    return low, high, L


def psnr(a, b):
    a8 = torch.round(a.clamp(0, 1) * 255)
    b8 = torch.round(b.clamp(0, 1) * 255)
    mse = ((a8 - b8) ** 2).mean().item()
    return 10 * math.log10(255 * 255 / max(mse, 1e-10))


def evaluate(model, ps, indices, fixed_factor=None):
    """Mean RGB PSNR (8-bit) of the final output and of the gamma stage, one image at a time."""
    model.eval()
    out_p, y_p, in_p = [], [], []
    with torch.no_grad():
        for i in indices:
            low, high, L = batch(ps, [i], _NoFlip())
            f = fixed_factor or thumb_factor(*low.shape[-2:])
            out, y = model(low, L, f)
            out_p.append(psnr(out, high))
            y_p.append(psnr(y, high))
            in_p.append(psnr(low, high))
    model.train()
    return float(np.mean(out_p)), float(np.mean(y_p)), float(np.mean(in_p))


class _NoFlip:
    def random(self):
        return 1.0


class NhwcEstimator(nn.Module):
    def __init__(self, est):
        super().__init__()
        self.est = est

    def forward(self, thumb):
        coeffs, gains = self.est(thumb.permute(0, 3, 1, 2))
        return coeffs.permute(0, 2, 3, 1), gains


def card_from_bench(bench_file, heldback_file=None, model_dir=None):
    """Puts the library-pipeline figures of a bench:lowlight-iagc run (and optionally of its --real-set heldback run)
    at the head of the card's quality list (cross-source first), replacing earlier bench figures; the PyTorch figures
    written at export stay after them."""
    model_dir = model_dir or os.path.join(run.REPO, "models", NAME)
    card_path = os.path.join(model_dir, "card.json")
    card = json.load(open(card_path))
    bench = json.load(open(bench_file))
    rows = bench["rows"]
    rel = os.path.relpath(bench_file, run.REPO)
    cmd = bench.get("command", "npm run bench:lowlight-iagc")

    def pick(role, kind, prefix=None):
        for r in rows:
            if r["role"] == role and kind in r["dataset"] and (prefix is None or r["model"].startswith(prefix)):
                return r
        return None

    out = []
    for kind in ("uniform", "spatial"):
        st, te, ga = pick("student", kind), pick("teacher", kind), pick("baseline", kind, "gamma")
        prev = pick("baseline", kind, "lowlight-iagc (previous")
        ds = (f"McMaster {st['images']} held-out synthetic low-light pairs, {kind} degradation, central 256 px of the 384 px crops "
              "(library pipeline in TypeScript)")
        extra = f"classical gamma {ga['metrics']['psnrRgb']} dB; input {st['metrics']['inputPsnrRgb']} dB"
        if prev:
            extra += f"; previous model (1.0.0) {prev['metrics']['psnrRgb']} dB"
        for metric, key in (("PSNR RGB 8-bit (dB), default (gamma stage, no refiner)", "psnrRgb"), ("SSIM RGB", "ssimRgb"),
                            ("PSNR Y (MATLAB YCbCr, dB)", "psnrY")):
            q = {"dataset": ds, "split": "cross-source", "metric": metric, "value": st["metrics"][key],
                 "reference": {"name": "maxim-enhancement, same run", "value": te["metrics"][key]}, "command": f"{cmd}  # {rel}"}
            if key == "psnrRgb":
                q["note"] = extra
            out.append(q)
    st, te, ga = pick("student", "uniform"), pick("teacher", "uniform"), pick("baseline", "uniform", "gamma")
    prev = pick("baseline", "uniform", "lowlight-iagc (previous")
    real = "8 real low-light photos (DICM 01/05/10/22/30, LIME 1/6, LOL eval15 1) at <= 384 px, no ground truth"
    for metric, key in (("mean luma (BT.601) of the output", "realMeanLuma"),
                        ("pixels newly saturated (max channel >= 254/255) vs the input, mean %", "realNewlySaturatedPctMean")):
        q = {"dataset": real, "split": "cross-source", "metric": metric, "value": st["metrics"][key],
             "reference": {"name": "maxim-enhancement, same run", "value": te["metrics"][key]},
             "note": f"classical gamma {ga['metrics'][key]}" + (f"; previous model (1.0.0) {prev['metrics'][key]}" if prev else "")
                     + "; these photos guided the synthetic degradation's ranges (see the held-back row)",
             "command": f"{cmd}  # {rel}"}
        out.append(q)
    if heldback_file:
        hb = json.load(open(heldback_file))
        hrel = os.path.relpath(heldback_file, run.REPO)
        hrows = hb["rows"]
        h = {r["role"] + ("-prev" if "previous" in r["model"] else ""): r for r in hrows}
        for metric, key in (("mean luma (BT.601) of the output", "realMeanLuma"),
                            ("pixels newly saturated (max channel >= 254/255) vs the input, mean %", "realNewlySaturatedPctMean")):
            q = {"dataset": h["student"]["dataset"], "split": "cross-source", "metric": metric, "value": h["student"]["metrics"][key],
                 "command": f"{hb.get('command', cmd)}  # {hrel}"}
            if "teacher" in h:
                q["reference"] = {"name": "maxim-enhancement, same run", "value": h["teacher"]["metrics"][key]}
            notes = []
            for role, name in (("baseline", "classical gamma"), ("baseline-prev", "previous model (1.0.0)")):
                if role in h:
                    notes.append(f"{name} {h[role]['metrics'][key]}")
            if notes:
                q["note"] = "; ".join(notes) + "; photos never used to choose anything"
            out.append(q)
    kept = [q for q in card["quality"] if "library pipeline" not in q["dataset"] and "real low-light photos" not in q["dataset"]]
    card["quality"] = out + kept
    tmp = card_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    os.replace(tmp, card_path)
    print(f"{card_path}: {len(out)} bench figures from {rel}" + (f" and {heldback_file}" if heldback_file else ""))


def main():
    p = run.parser(__doc__.splitlines()[0], default_steps=2400)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--minutes", type=float, help="wall-clock budget: stop early (the card records the steps actually run)")
    p.add_argument("--version", default="1.0.0", help="model version written into the cards (1.0.0: the committed model, "
                   "trained on the uniform darkening, prepare --spatial 0)")
    p.add_argument("--card-from-bench", help="put a bench:lowlight-iagc run's figures into models/lowlight-iagc/card.json and exit")
    p.add_argument("--heldback-bench", help="with --card-from-bench: the same bench's --real-set heldback run")
    args = p.parse_args()
    if args.card_from_bench:
        card_from_bench(args.card_from_bench, args.heldback_bench)
        return
    run.setup(args)
    cache = os.path.join(run.REPO, "training", "cache", "smoke" if args.smoke else "")
    data_dir = args.data or os.path.join(cache, "lowlight-iagc")
    train_set = PatchSet(data_dir)
    test_set = PatchSet(os.path.join(os.path.dirname(data_dir.rstrip("/")), "lowlight-iagc-test"))
    train_idx = train_set.indices(split="train")
    val_idx = train_set.indices(split="val")
    test_kinds = {k: test_set.indices(split="test", degradationKind=k) for k in ("uniform", "spatial")}
    test_idx = test_kinds["uniform"] + test_kinds["spatial"]
    print(f"train {len(train_idx)} patches, val {len(val_idx)}, test {len(test_idx)} images; {torch.get_num_threads()} threads", flush=True)

    rng = np.random.default_rng(args.seed)
    model = Pipeline()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine to 2 % of the peak
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, args.steps))))))
    ckpt = run.checkpoint_path(NAME + ("-smoke" if args.smoke else ""))
    log = run.LossLog(os.path.join(os.path.dirname(ckpt), f"{NAME}-loss.csv"))
    step0, elapsed0 = 0, 0.0
    if args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step0, elapsed0 = state["step"], state["elapsed"]
        log.rows = state["log"]
        rng = np.random.default_rng(args.seed + step0)
        print(f"resumed at step {step0}", flush=True)

    if step0 == 0:
        o, y, i = evaluate(model, train_set, val_idx[:: max(1, len(val_idx) // 24)], fixed_factor=4)
        print(f"start: val PSNR in {i:.2f} gamma-stage {y:.2f} out {o:.2f}", flush=True)
    t0 = time.time() - elapsed0
    steps_done = step0
    for step in range(step0 + 1, args.steps + 1):
        if args.minutes and time.time() - t0 > args.minutes * 60:
            print(f"time budget of {args.minutes} min reached at step {step - 1} of {args.steps}", flush=True)
            break
        steps_done = step
        idx = np.sort(rng.choice(train_idx, size=min(args.batch, len(train_idx)), replace=False))
        low, high, L = batch(train_set, idx, rng)
        factor = int(rng.choice(TRAIN_FACTORS))
        side = low.shape[-1]
        win = (int(rng.integers(0, side - REFINE_WINDOW + 1)), int(rng.integers(0, side - REFINE_WINDOW + 1)), REFINE_WINDOW)
        out, y = model(low, L, factor, win)
        loss_out = F.l1_loss(out, high[:, :, win[0]:win[0] + win[2], win[1]:win[1] + win[2]])
        loss_y = F.l1_loss(y, high)
        loss = loss_out + 0.5 * loss_y
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == args.steps:
            log.add(step, l1_out=loss_out.item(), l1_gamma=loss_y.item())
        if step % 100 == 0 or step == args.steps:
            print(f"step {step} l1 {loss_out.item():.4f} gamma-stage {loss_y.item():.4f} lr {sched.get_last_lr()[0]:.2e} {time.time() - t0:.0f}s", flush=True)
        if step % 300 == 0 or step == args.steps:
            o, yv, _ = evaluate(model, train_set, val_idx[:: max(1, len(val_idx) // 24)], fixed_factor=4)
            log.add(step, val_psnr=o)
            print(f"  val (Set14 patches) PSNR out {o:.2f} gamma-stage {yv:.2f}", flush=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
                        "elapsed": time.time() - t0, "log": log.rows}, ckpt)
    wall = time.time() - t0

    tests = {k: evaluate(model, test_set, idx) for k, idx in test_kinds.items() if idx}
    val_out, val_y, val_in = evaluate(model, train_set, val_idx, fixed_factor=4)
    for k, (o, yv, i) in tests.items():
        print(f"test (McMaster, cross-source, {k} degradation) PSNR: input {i:.2f}, gamma stage {yv:.2f}, refined {o:.2f}", flush=True)
    print(f"val (Set14 patches) PSNR: input {val_in:.2f}, gamma stage {val_y:.2f}, refined {val_out:.2f}", flush=True)

    if args.smoke and not args.out:  # the smoke patch set already sits at training/cache/smoke/lowlight-iagc
        args.out = os.path.join(run.REPO, "training", "cache", "smoke", "models", NAME)
    out_dir = run.out_dir(args, NAME)
    refine_dir = run.out_dir(args, REFINE_NAME) if not args.out else os.path.join(args.out + "-refine")
    os.makedirs(refine_dir, exist_ok=True)
    log.save(os.path.join(out_dir, "loss.png"), f"{NAME}: L1 and val PSNR by step")
    if os.path.abspath(refine_dir) != os.path.abspath(out_dir):
        log.save(os.path.join(refine_dir, "loss.png"), f"{NAME} (+ refiner): L1 and val PSNR by step")
    test_manifest = test_set.manifest_sha256
    training = {
        "data": [
            {"source": f"clean-photos/{src} (synthesizeLowLight)", "count": cnt, "manifestSha256": train_set.manifest_sha256,
             "role": "train" if src in ("Kodak24", "CBSD68") else "val"}
            for src, cnt in sorted(train_set.sources().items())
        ] + [{"source": "clean-photos/McMaster (synthesizeLowLight, held-out pairs: uniform and spatial)", "count": len(test_idx), "manifestSha256": test_manifest, "role": "test"}],
        "split": "by source: train Kodak24 + CBSD68 (192 px crops of darkened photos), val Set14, test McMaster (never trained on)",
        "seed": args.seed,
        "command": run.command_line(),
        "steps": steps_done,
        "wallTimeSeconds": round(wall, 1),
        "machine": run.machine(),
        "lossCurve": "loss.png",
    }
    cmd = run.command_line()
    quality = []
    for k, (test_out, test_y, test_in) in tests.items():
        n = len(test_kinds[k])
        quality += [
            {"dataset": f"McMaster {n} held-out synthetic low-light pairs, {k} degradation (384 px centre crops)", "split": "cross-source",
             "metric": "PSNR RGB 8-bit (dB), PyTorch pipeline, with the refiner", "value": round(test_out, 2),
             "reference": {"name": "input (dark)", "value": round(test_in, 2)}, "command": cmd},
            {"dataset": f"McMaster {n} held-out synthetic low-light pairs, {k} degradation, gamma stage only", "split": "cross-source",
             "metric": "PSNR RGB 8-bit (dB), PyTorch pipeline", "value": round(test_y, 2), "command": cmd},
        ]
    quality += [
        {"dataset": f"Set14 synthetic low-light 192 px patches ({len(val_idx)})", "split": "cross-source",
         "metric": "PSNR RGB 8-bit (dB), PyTorch pipeline", "value": round(val_out, 2), "note": "validation source, monitored during training", "command": cmd},
    ]
    budget_note = [] if steps_done >= args.steps else [
        f"stopped by the --minutes {args.minutes} budget after {steps_done} of {args.steps} scheduled steps (learning rate not annealed to the end)"]
    est = NhwcEstimator(model.estimator).eval()
    est_card = {
        "name": NAME, "version": args.version, "task": "lowlight", "kind": "tensor",
        "architecture": "Illumination-aware gamma estimator (S8, learned coarse to fine): on a thumbnail (longer side <= 128) "
                        "3 conv layers (4->16->24->32, two stride 2) + a global MLP (pooled features, mean V, mean log V) and a "
                        "local 1x1+3x3 head give per-cell coefficients (a, b, c) of log gamma = a + (ln alpha + b) t + c t^2, "
                        "t = 2L - 1, on top of the classical alpha = max(1, ln(mean V)/ln 0.5), plus 3 white-balance gains. "
                        "The library upsamples the maps, evaluates them at each pixel's illumination L, applies V^gamma with "
                        "powTaylorArray, then runs lowlight-iagc-refine.",
        "flopsPerMegapixel": cexport.flops_per_megapixel(est, (torch.rand(1, 87, 116, 3),), 1e6),
        "io": {"inputs": [{"name": "thumb", "shape": [1, "h", "w", 3], "range": [0, 1]}],
               "outputs": [{"name": "coeffs", "shape": [1, "ceil(h/4)", "ceil(w/4)", 3], "meaning": "log-gamma coefficients a, b (incl. ln alpha), c over t = 2L - 1"},
                           {"name": "gains", "shape": [1, 3], "meaning": "white-balance gains, the largest 1"}],
               "divisibility": 1, "maxTile": 4096, "overlap": 0},
        "training": training, "quality": quality,
        "paper": "S8: illumination-aware gamma correction with a Taylor-series pow; gamma base of Schettini et al., J. Electronic Imaging 19(2) 2010",
        "notes": budget_note + ["flopsPerMegapixel counts the estimator on the 116x87 thumbnail of a 1 MP 4:3 photo; the per-pixel gamma (a few ops) and the refiner are extra (see lowlight-iagc-refine)."],
    }
    g = torch.Generator().manual_seed(0)
    golden_thumb = torch.rand(1, 48, 64, 3, generator=g)
    cexport.export(est, out_dir, input_names=["thumb"], output_names=["coeffs", "gains"], golden_inputs=[golden_thumb],
                   dynamic_axes={"thumb": {1: "h", 2: "w"}, "coeffs": {1: "gh", 2: "gw"}}, card=est_card)
    refine_card = {
        "name": REFINE_NAME, "version": args.version, "task": "lowlight",
        "architecture": "Residual refinement after the learned gamma (lowlight-iagc): y + r(y), r = four 3x3 convolutions "
                        "(3->16->16->16->3, dilations 1, 2, 4, 1, ReLU), receptive field 17 px.",
        "io": {"inputs": [{"name": "image", "shape": [1, "H", "W", 3], "range": [0, 1]}],
               "outputs": [{"name": "restored", "shape": [1, "H", "W", 3]}], "divisibility": 1, "maxTile": 1024, "overlap": 16},
        "training": training, "quality": quality,
        "paper": "S8 (see lowlight-iagc)",
        "notes": budget_note + ["Trained jointly with lowlight-iagc; runs on the gamma-corrected picture, not on the dark input."],
    }
    cexport.export_image_model(model.refiner, refine_dir, refine_card)
    print(f"exported {out_dir} and {refine_dir} after {steps_done} steps, {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()

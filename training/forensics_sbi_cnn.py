"""Face-manipulation detector (a small CNN) trained on self-blended images.

    nice -n 10 /usr/bin/python3 training/forensics_sbi_cnn.py --threads 1 [--steps 1200] [--width 12] [--resume] [--smoke]

Data: the patch set of training/prepare/forensics-sbi.ts (pairs of real / self-blended face crops,
same degradation within a pair). Split by PERSON as prepared: `train` trains, `val` picks the
checkpoint (AUC); test people and generated clips were never prepared.

Network: seven 3x3 conv + BN + ReLU layers with max pooling (112 -> 7), global average pooling,
one logit ("manipulated"). Input NHWC RGB in [0, 1], the library's interleaved RawImage layout.
Augmentation here: horizontal flip, a small brightness/contrast change applied to both members of
a pair alike (the prepared set already varies resolution, compression and the blend itself).
"""
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cstrain import export as cexport
from cstrain import run
from cstrain.metrics import auc
from cstrain.patchset import PatchSet

NAME = "forensics-sbi-cnn"
SIZE = 112


def block(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class SbiNet(nn.Module):
    def __init__(self, w=16):
        super().__init__()
        self.features = nn.Sequential(
            block(3, w), nn.MaxPool2d(2),
            block(w, 2 * w), nn.MaxPool2d(2),
            block(2 * w, 4 * w), block(4 * w, 4 * w), nn.MaxPool2d(2),
            block(4 * w, 8 * w), block(8 * w, 8 * w), nn.MaxPool2d(2),
            block(8 * w, 8 * w),
        )
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(8 * w, 1)

    def forward(self, x):
        x = self.features((x - 0.5) / 0.25)
        return self.head(self.drop(F.adaptive_avg_pool2d(x, 1).flatten(1)))


class Nhwc(nn.Module):
    """NHWC [0,1] face crops in, one logit per face out."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, face):
        return self.net(face.permute(0, 3, 1, 2))


def to_tensor(images):
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).permute(0, 3, 1, 2)


def evaluate(model, images, labels, batch=128):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(model(to_tensor(images[i:i + batch])).squeeze(1).numpy())
    model.train()
    scores = np.concatenate(out)
    return auc(scores, labels), scores


def main():
    p = run.parser(__doc__.splitlines()[0], default_steps=1200)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--width", type=int, default=12, help="channels of the first layer (x2, x4, x8 deeper)")
    p.add_argument("--init", help="start from the best weights of this checkpoint (.pt) with a fresh schedule: a longer run in parts")
    p.add_argument("--eval-max", type=int, default=800, help="validation items scored at each evaluation (all of them at export)")
    args = p.parse_args()
    run.setup(args)
    cache = os.path.join(run.REPO, "training", "cache")
    data_dirs = args.data.split(",") if args.data else [os.path.join(cache, "forensics-sbi-photos"), os.path.join(cache, "forensics-sbi-videos")]
    sets = [PatchSet(d) for d in data_dirs]
    # Several prepared sets (photos, video frames) as one: concatenated in memory (a few hundred MB).
    images = np.concatenate([np.asarray(d["image"]) for d in sets])
    labels = np.concatenate([np.asarray(d["label"][:, 0]) for d in sets])
    items = [it for d in sets for it in d.items]
    train = np.array([i for i, it in enumerate(items) if it["split"] == "train"])
    val = np.array([i for i, it in enumerate(items) if it["split"] == "val"])
    data_dir = ",".join(os.path.relpath(d, run.REPO) for d in data_dirs)
    # Pairs are consecutive (real, fake): batches draw whole pairs, so every batch is balanced
    # and holds both members of each pair.
    train_pairs = train[labels[train] == 0]
    train_pairs = train_pairs[np.isin(train_pairs + 1, train)]
    val_images = np.asarray(images[val])
    val_labels = labels[val]
    # A fixed, pair-preserving subset for the evaluations during training (CPU time); all at the end.
    # (val lists whole pairs in order, so even positions start pairs; spread over photos and video frames).
    starts = np.arange(0, len(val) - 1, 2)
    starts = starts[np.linspace(0, len(starts) - 1, min(len(starts), args.eval_max // 2)).astype(int)]
    sub = np.stack([starts, starts + 1], 1).reshape(-1)
    groups = sorted({it["group"] for it in items})
    print(f"{len(train)} train, {len(val)} val items from {data_dir}; {len(groups)} groups", flush=True)

    model = SbiNet(args.width)
    init_steps = 0
    if args.init:
        c = torch.load(args.init)
        model.load_state_dict(c["best"]["state"])
        init_steps = int(c["best"]["step"]) + int(c.get("init_steps", 0))
        print(f"initialised from {args.init} (best of step {c['best']['step']}, val AUC {c['best']['auc']:.4f})", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    ckpt = run.checkpoint_path(NAME + ("-smoke" if args.smoke else ""))
    log = run.LossLog(os.path.join(os.path.dirname(ckpt), NAME + ".csv"))
    start, best = 0, {"auc": -1.0, "step": 0, "state": None}
    elapsed = 0.0
    if args.resume and os.path.exists(ckpt):
        c = torch.load(ckpt)
        model.load_state_dict(c["model"])
        opt.load_state_dict(c["opt"])
        sched.load_state_dict(c["sched"])
        start, best, log.rows, elapsed = c["step"], c["best"], c["log"], c.get("elapsed", 0.0)
        print(f"resumed at step {start}, best val AUC {best['auc']:.4f} at {best['step']}", flush=True)
    rng = np.random.default_rng(args.seed + start)
    t0 = time.time()
    model.train()
    running = []
    for step in range(start, args.steps):
        pick = np.sort(rng.choice(train_pairs, size=args.batch // 2, replace=False))
        idx = np.stack([pick, pick + 1], 1).reshape(-1)
        x = to_tensor(images[idx])
        y = torch.from_numpy(labels[idx]).float().unsqueeze(1)
        # Same photometric change for both members of a pair; independent flips.
        gain = torch.from_numpy(rng.uniform(0.85, 1.15, size=args.batch // 2)).float().repeat_interleave(2)
        bias = torch.from_numpy(rng.uniform(-0.05, 0.05, size=args.batch // 2)).float().repeat_interleave(2)
        x = (x * gain[:, None, None, None] + bias[:, None, None, None]).clamp_(0, 1)
        flip = torch.from_numpy(rng.random(args.batch) < 0.5)
        x[flip] = x[flip].flip(3)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running.append(loss.item())
        done = step + 1
        if done % 50 == 0 or done == args.steps:
            log.add(done, train_bce=np.mean(running))
            print(f"step {done} bce {np.mean(running):.4f} {time.time() - t0 + elapsed:.0f}s", flush=True)
            running = []
        if done % args.eval_every == 0 or done == args.steps:
            val_auc, _ = evaluate(model, val_images[sub], val_labels[sub])
            log.add(done, val_auc_gap=max(1e-4, 1 - val_auc))
            print(f"  val AUC {val_auc:.4f}", flush=True)
            if val_auc > best["auc"]:
                best = {"auc": val_auc, "step": done, "state": {k: v.clone() for k, v in model.state_dict().items()}}
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": done, "best": best, "log": log.rows,
                        "elapsed": time.time() - t0 + elapsed, "init_steps": init_steps}, ckpt)
    wall = time.time() - t0 + elapsed

    model.load_state_dict(best["state"])
    model.eval()
    val_auc, val_scores = evaluate(model, val_images, val_labels)
    out = run.out_dir(args, NAME)
    log.save(os.path.join(out, "loss.png"), f"{NAME}: train BCE, 1 - val AUC")
    wrapped = Nhwc(model).eval()
    g = torch.Generator().manual_seed(args.seed)
    golden = torch.rand(2, SIZE, SIZE, 3, generator=g)
    card = {
        "name": NAME,
        "version": "1.0.0",
        "task": "forensics",
        "kind": "tensor",
        "architecture": f"7 x (3x3 conv + BN + ReLU; {args.width}-{2 * args.width}-{4 * args.width}-{4 * args.width}-{8 * args.width}-{8 * args.width}-{8 * args.width} channels), 4 max-pools (112 -> 7), global average pool, dropout 0.2, linear -> 1 logit; input NHWC RGB [0,1] face crop (CNN_CONTEXT x the face region, src/trust/forensics/cnnCrop.ts)",
        "flopsPerMegapixel": cexport.flops_per_megapixel(wrapped, (torch.rand(1, SIZE, SIZE, 3),), SIZE * SIZE),
        "io": {
            "inputs": [{"name": "face", "shape": ["N", SIZE, SIZE, 3], "range": [0, 1]}],
            "outputs": [{"name": "logit", "shape": ["N", 1], "meaning": "log-odds that the face was blended in (uncalibrated; calibration in detector.json)"}],
        },
        "training": {
            "data": [
                *[{"source": f"{os.path.relpath(d.dir, run.REPO)} ({d.manifest.get('notes', '')})", "count": int(d.count), "manifestSha256": d.manifest_sha256, "role": "train+val"} for d in sets],
                {"source": f"train items ({len({items[i]['group'] for i in train})} people/identities)", "count": int(len(train)), "role": "train"},
                {"source": f"val items ({len({items[i]['group'] for i in val})} people/identities)", "count": int(len(val)), "role": "checkpoint selection"},
            ],
            "split": "by person / photo identity (bench/lib/faceVideos.ts TEST_PEOPLE and VALIDATION_PEOPLE; 20% of photo identities to val)",
            "seed": args.seed,
            "command": run.command_line(),
            "steps": int(args.steps) + init_steps,
            "wallTimeSeconds": round(wall, 1),
            "machine": run.machine(),
            "lossCurve": "loss.png",
        },
        "quality": [
            {"dataset": "self-blended pairs of validation people (same recipe as training)", "split": "held-out", "metric": "AUC (face crop)",
             "value": round(val_auc, 4), "note": f"checkpoint of step {best['step']} chosen on this split: optimistic", "command": run.command_line()},
        ],
        "paper": "Shiohara & Yamasaki, Detecting Deepfakes with Self-Blended Images, CVPR 2022",
        "notes": ["Cross-source figures on real generated videos: docs/benchmarks/forensics.json (npm run bench:forensics)."]
        + ([f"Trained in two parts: {init_steps} steps (first run), then {args.steps} steps from its best weights with a fresh schedule (--init)."] if init_steps else []),
    }
    cexport.export(wrapped, out, input_names=["face"], output_names=["logit"], golden_inputs=[golden],
                   dynamic_axes={"face": {0: "N"}, "logit": {0: "N"}}, card=card)
    # Validation logits for the calibration step (TypeScript, calibration.ts: bench/forensics-calibrate.ts).
    with open(os.path.join(os.path.dirname(ckpt), NAME + ("-smoke" if args.smoke else "") + "-val.json"), "w") as f:
        json.dump({"logits": [round(float(s), 5) for s in val_scores], "labels": [int(l) for l in val_labels],
                   "groups": [items[i]["group"] for i in val]}, f)
    print(f"best val AUC {best['auc']:.4f} at step {best['step']}; wrote {out}", flush=True)


if __name__ == "__main__":
    main()

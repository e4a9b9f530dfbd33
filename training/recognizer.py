"""Degradation recogniser: multi-label scores, severities and an embedding for
rain, haze, lowlight, noise, blur, jpeg (the order of DEGRADATIONS in src/restore/auto/analyze.ts).

  /usr/bin/python3 training/recognizer.py [--smoke] [--steps N] [--seed S] [--threads 1] [--resume]
  /usr/bin/python3 training/recognizer.py --exclude NAME --predict-excluded FILE   (leave-one-source-out)

--exclude NAME trains the same network without one validation source (LOSO_SOURCES: the groups
of that real training source and of the synthetic items made from its pictures), exports nothing,
and writes the scores of the source's REAL items to FILE (training/recognizer_priors.py reads them
to choose class priors on sources the network did not see).

Data: the patch set of training/prepare/recognizer.ts (training sources of split S1 only).
Inputs (see src/restore/auto/recognizer.ts, recognizerViews):
  global [1, 3, 128, 128]      the whole picture, area-resized
  crops  [1, 6, 3, 96, 96]     crops of the picture reduced to <= 512 px
Outputs: scores [1, 6] (sigmoid), severity [1, 6] (sigmoid), embedding [1, 32].

Network: two small conv trunks of 4 stride-2 conv-BN-ReLU stages (global view; crops), each
pooled by mean, max and standard deviation over space (crops: then mean and max over the crops),
an MLP to a 32-d embedding, and two linear heads.
Loss: masked binary cross-entropy on the scores (a label is only counted where the set knows it)
+ masked L1 on the severities of present degradations.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cstrain import export, patchset, run  # noqa: E402

NAME = "degradation-recognizer"
CLASSES = ["rain", "haze", "lowlight", "noise", "blur", "jpeg"]
EMBED = 32
# Validation sources for leave-one-source-out (group prefixes of the patch sets); the same folds as
# training/recognizer_backbone.py.
LOSO_SOURCES = {
    "rain100H-dev": ("real:derain/rain100H-dev/", "synthetic:derain/rain100H-dev/"),
    "Bahat-Irani": ("real:real-degraded/hazy_real",),
    "DICM": ("real:lowlight/DICM",),
    "deepface": ("real:faces/deepface", "synthetic:faces/deepface"),
}


def stage(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def pool_stats(x):
    """[N, C, H, W] -> [N, 3C]: mean, max and standard deviation over space."""
    f = x.flatten(2)
    mean = f.mean(2)
    return torch.cat([mean, f.amax(2), (f - mean.unsqueeze(2)).pow(2).mean(2).add(1e-6).sqrt()], 1)


class Recognizer(nn.Module):
    def __init__(self):
        super().__init__()
        self.global_trunk = nn.Sequential(stage(3, 16, 2), stage(16, 32, 2), stage(32, 48, 2), stage(48, 64, 2))
        # Local trunk: four stride-2 stages like the global one; the first 3x3 kernel still reads
        # neighbouring pixels (noise, 8x8 blocking, 1-px streaks), at a quarter of the cost of a
        # full-resolution first stage (this machine trains on a shared slice of 2 cores).
        self.local_trunk = nn.Sequential(stage(3, 16, 2), stage(16, 32, 2), stage(32, 48, 2), stage(48, 64, 2))
        self.mlp = nn.Sequential(nn.Linear(3 * 64 + 2 * 3 * 64, 128), nn.ReLU(inplace=True), nn.Dropout(0.2), nn.Linear(128, EMBED))
        self.scores = nn.Linear(EMBED, len(CLASSES))
        self.severity = nn.Linear(EMBED, len(CLASSES))

    def forward(self, global_view, crops):
        g = pool_stats(self.global_trunk((global_view - 0.5) * 4.0))
        n, k = crops.shape[0], crops.shape[1]
        c = pool_stats(self.local_trunk((crops.reshape(n * k, 3, crops.shape[3], crops.shape[4]) - 0.5) * 4.0))
        c = c.reshape(n, k, -1)
        local = torch.cat([c.mean(1), c.amax(1)], 1)
        e = self.mlp(torch.cat([g, local], 1))
        h = F.relu(e)
        return torch.sigmoid(self.scores(h)), torch.sigmoid(self.severity(h)), e


class Concat:
    """Several patch sets read as one (same arrays), items numbered in order."""

    def __init__(self, sets):
        self.sets = sets
        self.items = [it for s in sets for it in s.items]
        self.offsets = np.cumsum([0] + [s.count for s in sets])
        self.manifest_sha256 = ",".join(s.manifest_sha256 for s in sets)

    def indices(self, **where):
        return [i for i, item in enumerate(self.items) if all(item.get(k) == v for k, v in where.items())]

    def sources(self):
        counts = {}
        for item in self.items:
            counts[item.get("group", "unknown")] = counts.get(item.get("group", "unknown"), 0) + 1
        return counts

    def take(self, name, ids):
        out = []
        for i in ids:
            k = int(np.searchsorted(self.offsets, i, side="right") - 1)
            out.append(np.asarray(self.sets[k][name][i - self.offsets[k]]))
        return np.stack(out)

    def all(self, name):
        return np.concatenate([np.asarray(s[name]) for s in self.sets])


def batch(ps, ids, rng, augment):
    g = torch.from_numpy(ps.take("global", ids).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    c = torch.from_numpy(ps.take("crops", ids).astype(np.float32) / 255.0).permute(0, 1, 4, 2, 3)
    if augment:
        if rng.random() < 0.5:
            g = g.flip(3)
            c = c.flip(4)
        # A random 4 of the 6 crops, in random order: the network pools over crops, and this
        # costs 2/3 of the compute and teaches it not to rely on any one position.
        c = c[:, torch.from_numpy(rng.permutation(c.shape[1])[:4])]
    lab = torch.from_numpy(ps.take("labels", ids))
    mask = torch.from_numpy(ps.take("mask", ids))
    sev = torch.from_numpy(ps.take("severity", ids))
    sevmask = torch.from_numpy(ps.take("sevmask", ids))
    return g, c, lab, mask, sev, sevmask


def loss_of(model, b, pos_weight):
    g, c, lab, mask, sev, sevmask = b
    s, v, _ = model(g, c)
    s = s.clamp(1e-5, 1 - 1e-5)
    w = mask * (lab * pos_weight + (1 - lab))
    bce = -(w * (lab * torch.log(s) + (1 - lab) * torch.log(1 - s))).sum() / w.sum().clamp(min=1)
    l1 = (sevmask * (v - sev).abs()).sum() / sevmask.sum().clamp(min=1)
    return bce + 0.5 * l1, bce, l1


def main():
    p = run.parser(__doc__.splitlines()[0], default_steps=1800)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--balance", action="store_true", help="weight positives by neg/pos per class (capped at 5)")
    p.add_argument("--model-version", default="1.0.0", help="card version (1.0.0: recipe v1; 1.1.0: the v2 candidate)")
    p.add_argument("--exclude", choices=sorted(LOSO_SOURCES), help="leave this validation source out (LOSO run: nothing exported)")
    p.add_argument("--predict-excluded", help="with --exclude: write the excluded source's real items' scores here (JSON)")
    args = p.parse_args()
    run.setup(args)
    cache = os.path.join(run.REPO, "training", "cache")
    dirs = args.data.split(",") if args.data else (
        [os.path.join(cache, "smoke/recognizer-set")] if args.smoke else [os.path.join(cache, "recognizer"), os.path.join(cache, "recognizer-portraits")])
    ps = Concat([patchset.PatchSet(d) for d in dirs if os.path.exists(os.path.join(d, "manifest.json")) or d == dirs[0]])
    train_ids = np.array(ps.indices(split="train"))
    val_ids = np.array(ps.indices(split="val"))
    excluded = np.array([], dtype=int)
    if args.exclude:
        prefixes = LOSO_SOURCES[args.exclude]
        out_of = np.array([any(str(it.get("group", "")).startswith(q) for q in prefixes) for it in ps.items])
        excluded = np.nonzero(out_of)[0]
        train_ids = train_ids[~out_of[train_ids]]
        val_ids = val_ids[~out_of[val_ids]]
        print(f"LOSO: {args.exclude} left out ({len(excluded)} items)", flush=True)
    real = np.array([bool(it.get("real")) for it in ps.items])
    rng = np.random.default_rng(args.seed)
    # Real pictures are few: draw them at 35% of each batch.
    train_real = train_ids[real[train_ids]]
    train_syn = train_ids[~real[train_ids]]
    lab = ps.all("labels")[train_ids]
    msk = ps.all("mask")[train_ids]
    pos = (lab * msk).sum(0)
    neg = ((1 - lab) * msk).sum(0)
    # Unweighted by default: the scores are then probabilities under the training mixture, and
    # "clean" needs every score below 0.5. Balanced weights (--balance) inflate every class's
    # positives and left almost no picture clean (v1: 2 of 37 clean test photos).
    pos_weight = torch.from_numpy(np.clip(neg / np.maximum(pos, 1), 1, 5).astype(np.float32)) if args.balance else torch.ones(len(CLASSES))
    print(f"{len(train_ids)} train ({len(train_real)} real), {len(val_ids)} val; positives {dict(zip(CLASSES, pos.tolist()))}; pos_weight {pos_weight.tolist()}", flush=True)

    model = Recognizer()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=max(args.steps, 2), pct_start=0.1)
    ck = run.checkpoint_path(NAME + ("-smoke" if args.smoke else "") + (f"-loso-{args.exclude}" if args.exclude else ""))
    start = 0
    log = run.LossLog(os.path.join(os.path.dirname(ck), NAME + ".csv"))
    if args.resume and os.path.exists(ck):
        state = torch.load(ck)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start = state["step"]
        log.rows = state.get("log", [])
        print(f"resumed at step {start}", flush=True)
    t0 = time.time()
    n_real = max(1, int(round(args.batch * 0.35)))
    for step in range(start, args.steps):
        model.train()
        ids = np.concatenate([rng.choice(train_real, n_real), rng.choice(train_syn, args.batch - n_real)]) if len(train_real) else rng.choice(train_ids, args.batch)
        ids.sort()
        loss, bce, l1 = loss_of(model, batch(ps, ids, rng, True), pos_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps - 1:
            model.eval()
            with torch.no_grad():
                vl = [loss_of(model, batch(ps, np.sort(val_ids[i:i + 64]), rng, False), pos_weight)[0].item() for i in range(0, len(val_ids), 64)] if len(val_ids) else [float("nan")]
            log.add(step, train=loss.item(), bce=bce.item(), severity_l1=l1.item(), val=float(np.mean(vl)))
            print(f"step {step} loss {loss.item():.4f} bce {bce.item():.4f} sevL1 {l1.item():.4f} val {np.mean(vl):.4f} {time.time() - t0:.0f}s", flush=True)
        if step % 250 == 249:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step + 1, "log": log.rows}, ck)
    model.eval()
    if args.exclude:
        real_out = [int(i) for i in excluded if real[i]]
        rows = []
        with torch.no_grad():
            for i in range(0, len(real_out), 32):
                ids = np.array(real_out[i:i + 32])
                g, c, lab, mask, _, _ = batch(ps, ids, rng, False)
                s_, _, _ = model(g, c)
                rows += [{"group": ps.items[j].get("group"), "labels": lab[k].tolist(), "scores": s_[k].tolist()} for k, j in enumerate(ids)]
        with open(args.predict_excluded or os.devnull, "w") as fh:
            json.dump({"excluded": args.exclude, "steps": args.steps, "seed": args.seed, "items": rows}, fh)
        print(f"LOSO {args.exclude}: {len(rows)} real items scored -> {args.predict_excluded} ({time.time() - t0:.0f} s)", flush=True)
        return
    out = run.out_dir(args, NAME)
    log.save(os.path.join(out, "loss.png"), f"{NAME}: masked BCE + 0.5 severity L1")

    g = torch.Generator().manual_seed(args.seed)
    golden = [torch.rand(1, 3, 128, 128, generator=g), torch.rand(1, 6, 3, 96, 96, generator=g)]
    # The views have a fixed size: the cost per picture is the same at any resolution (quoted for 1 MP).
    flops = export.flops_per_megapixel(model, golden, 1e6)
    sources = ps.sources()
    existing = {}
    card_path = os.path.join(out, "card.json")
    if os.path.exists(card_path):
        existing = json.load(open(card_path))
    card = {
        "name": NAME,
        "version": args.model_version,
        "task": "analyze",
        "kind": "tensor",
        "architecture": "two conv trunks (global 128x128 view: 4 stride-2 conv-BN-ReLU stages 16-64 ch; local 6 crops 96x96: "
                        "4 stride-2 stages 16-64 ch), mean/max/std pooling (crops: mean+max), MLP 576-128-32 "
                        "embedding, sigmoid heads for 6 scores and 6 severities",
        "flopsPerMegapixel": flops,
        "io": {
            "inputs": [
                {"name": "global", "shape": [1, 3, 128, 128], "range": [0, 1]},
                {"name": "crops", "shape": [1, 6, 3, 96, 96], "range": [0, 1]},
            ],
            "outputs": [
                {"name": "scores", "shape": [1, 6], "meaning": "P(present) for " + ",".join(CLASSES)},
                {"name": "severity", "shape": [1, 6], "meaning": "severity in [0,1] for " + ",".join(CLASSES)},
                {"name": "embedding", "shape": [1, EMBED], "meaning": "degradation embedding (pre-ReLU layer the heads read)"},
            ],
        },
        "training": {
            "data": [{"source": k, "count": v, "manifestSha256": ps.manifest_sha256, "role": "train+val (every 10th base picture: val)"} for k, v in sorted(sources.items())],  # noqa: E501
            "split": "cross-source split S1: trained on synthetic degradations of clean-photos/{Kodak24,McMaster,CBSD68}, rain100H-dev clean and "
                     "faces/deepface, plus real rain100H-dev rainy/clean, hazy_real/bahat_irani_*, lowlight/DICM, faces/deepface (clean). "
                     "Every other labelled source is never seen "
                     "(see bench/analyze.ts RECOGNIZER_SPLIT).",
            "seed": args.seed,
            "command": run.command_line(),
            "steps": args.steps,
            "wallTimeSeconds": round(time.time() - t0, 1),
            "machine": run.machine(),
            "lossCurve": "loss.png",
        },
        "quality": existing.get("quality", []),
        "speed": existing.get("speed", []),
        "licence": "MIT",
        "paper": "idea: Diff-Restorer (degradation embedding routes the restoration); network our own",
        "notes": [
            f"FLOPs per recognition {flops:.3g}, the same for any picture size (fixed-size views; flopsPerMegapixel quotes a 1 MP picture)",
            "quality and speed figures are written by `npm run bench:analyze -- --write-card` (cross-source first)",
        ],
    }
    export.export(model, out, input_names=["global", "crops"], output_names=["scores", "severity", "embedding"],
                  golden_inputs=golden, dynamic_axes=None, card=card)
    print(f"exported {out} ({os.path.getsize(os.path.join(out, 'model.onnx')) / 1e6:.2f} MB)", flush=True)


if __name__ == "__main__":
    main()

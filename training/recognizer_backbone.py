"""Head on the frozen centernet trunk's features (training/recognizerBackbone.ts) for the recogniser.

    /usr/bin/python3 training/recognizer_backbone.py [--threads 1] [--out training/cache/backbone/head.json]

Data: training/cache/backbone/<set>/ from training/recognizer-backbone-features.ts (S1 TRAINING
sources only). Loss: masked binary cross-entropy per class, as the small network's trainer.

Everything chosen here is chosen on VALIDATION SOURCES carved out of the training side, never on
the S1 test sources: leave-one-source-out (LOSO) over the real training sources
  rain100H-dev  (its rainy + clean photos, and the synthetic items made from its clean photos),
  Bahat-Irani   (real hazy), DICM (real low light), deepface (portraits, real and synthetic):
for each, a head is trained without that source and predicts that source's REAL items. On the
pooled out-of-source predictions (primary = top score >= 0.5, JPEG left to its own head, else
clean) we pick
  1. the head (linear or one hidden layer of 64) and its L2 weight, by balanced accuracy over the
     four real classes (rain, haze, lowlight, clean);
  2. then per-class logit offsets (class priors) for rain, haze, lowlight, noise and blur by
     coordinate ascent on the same balanced accuracy (grid -3..3, step 0.25; ties: smaller offsets).
The final head is trained on everything with the chosen settings; the offsets are added to its logits.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

CLASSES = ["rain", "haze", "lowlight", "noise", "blur", "jpeg"]
REAL4 = ["rain", "haze", "lowlight", "clean"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache", "backbone")
FOLDS = {
    "rain100H-dev": ("real:derain/rain100H-dev/", "synthetic:derain/rain100H-dev/"),
    "Bahat-Irani": ("real:real-degraded/hazy_real",),
    "DICM": ("real:lowlight/DICM",),
    "deepface": ("real:faces/deepface", "synthetic:faces/deepface"),
}


def load(sets):
    xs, ys, ms, groups, real = [], [], [], [], []
    for s in sets:
        d = os.path.join(ROOT, s)
        meta = json.load(open(os.path.join(d, "items.json")))
        n, dim = len(meta["items"]), meta["dim"]
        xs.append(np.fromfile(os.path.join(d, "features.bin"), dtype=np.float32).reshape(n, dim))
        ys.append(np.fromfile(os.path.join(d, "labels.bin"), dtype=np.float32).reshape(n, len(CLASSES)))
        ms.append(np.fromfile(os.path.join(d, "mask.bin"), dtype=np.float32).reshape(n, len(CLASSES)))
        groups += [it["group"] for it in meta["items"]]
        real += [bool(it["real"]) for it in meta["items"]]
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ms), np.array(groups), np.array(real)


def fold_of(group):
    for name, prefixes in FOLDS.items():
        if any(group.startswith(p) for p in prefixes):
            return name
    return None


def make_head(kind, dim):
    if kind == "linear":
        return nn.Linear(dim, len(CLASSES))
    return nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, len(CLASSES)))


def train(x, y, m, kind, l2, steps=400, seed=1):
    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xt = torch.from_numpy((x - mean) / std)
    yt, mt = torch.from_numpy(y), torch.from_numpy(m)
    head = make_head(kind, x.shape[1])
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    bce = nn.BCEWithLogitsLoss(reduction="none")
    for _ in range(steps):
        head.train()
        opt.zero_grad()
        logits = head(xt)
        loss = (bce(logits, yt) * mt).sum() / mt.sum().clamp(min=1)
        wsum = sum((p ** 2).sum() for n_, p in head.named_parameters() if "weight" in n_)
        (loss + l2 * wsum).backward()
        opt.step()
    head.eval()
    return head, mean, std


def logits_of(model, x):
    head, mean, std = model
    with torch.no_grad():
        return head(torch.from_numpy((x - mean) / std)).numpy()


def true_class(y):
    for c in ["rain", "haze", "lowlight"]:
        if y[CLASSES.index(c)] > 0.5:
            return c
    return "clean"


def primary(logit_row, offsets):
    z = logit_row + offsets
    z = z.copy()
    z[CLASSES.index("jpeg")] = -np.inf  # JPEG comes from its own head (analyzeJpeg.ts)
    k = int(np.argmax(z))
    return CLASSES[k] if z[k] >= 0 else "clean"


def balanced(logits, truth, offsets):
    recalls = []
    for c in REAL4:
        idx = [i for i, t in enumerate(truth) if t == c]
        if idx:
            recalls.append(np.mean([primary(logits[i], offsets) == c for i in idx]))
    return float(np.mean(recalls))


def confusion(logits, truth, offsets):
    out = {t: {} for t in REAL4}
    for i, t in enumerate(truth):
        p = primary(logits[i], offsets)
        out[t][p] = out[t].get(p, 0) + 1
    return out


def fit_offsets(logits, truth, dtype=np.float32):
    """Per-class logit offsets (class priors) by coordinate ascent on the balanced accuracy:
    grid -3..3 step 0.25, three sweeps over rain/haze/lowlight/noise/blur, ties to the smaller offset."""
    offsets = np.zeros(len(CLASSES), dtype=dtype)
    grid = np.arange(-3, 3.01, 0.25)
    for _ in range(3):
        for c in ["rain", "haze", "lowlight", "noise", "blur"]:
            k = CLASSES.index(c)
            scored = []
            for g in grid:
                o = offsets.copy()
                o[k] = g
                scored.append((balanced(logits, truth, o), -abs(g), g))
            offsets[k] = max(scored)[2]
    return offsets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sets", default="recognizer,recognizer-portraits")
    ap.add_argument("--out", default=os.path.join(ROOT, "head.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    x, y, m, groups, real = load(args.sets.split(","))
    folds = np.array([fold_of(g) for g in groups])
    print(f"{len(x)} items, dim {x.shape[1]}; per fold: " + ", ".join(f"{k} {int((folds == k).sum())}" for k in FOLDS))
    zero = np.zeros(len(CLASSES), dtype=np.float32)
    results = {}
    loso = {}
    for kind in ["linear", "mlp64"]:
        for l2 in [1e-4, 1e-3, 1e-2]:
            val_logits, val_truth = [], []
            for f in FOLDS:
                tr = folds != f
                va = (folds == f) & real
                model = train(x[tr], y[tr], m[tr], kind, l2)
                val_logits.append(logits_of(model, x[va]))
                val_truth += [true_class(r) for r in y[va]]
            vl = np.concatenate(val_logits)
            loso[(kind, l2)] = (vl, val_truth)
            results[f"{kind} l2={l2}"] = balanced(vl, val_truth, zero)
            print(f"{kind} l2={l2}: LOSO balanced accuracy {results[f'{kind} l2={l2}']:.3f}  {confusion(vl, val_truth, zero)}  ({time.time() - t0:.0f} s)", flush=True)
    best = max(loso, key=lambda k: (results[f"{k[0]} l2={k[1]}"], k[0] == "linear", k[1]))
    vl, vt = loso[best]
    offsets = fit_offsets(vl, vt, dtype=zero.dtype)
    print(f"chosen {best}; offsets {dict(zip(CLASSES, offsets.tolist()))}; LOSO balanced {balanced(vl, vt, zero):.3f} -> {balanced(vl, vt, offsets):.3f}")
    print(f"LOSO confusion with offsets: {confusion(vl, vt, offsets)}")
    kind, l2 = best
    head, mean, std = train(x, y, m, kind, l2)
    layers = [mod for mod in (head if isinstance(head, nn.Sequential) else [head]) if isinstance(mod, nn.Linear)]
    out = {
        "backbone": "centernet trunk (@vladmandic/human), training/recognizerBackbone.ts",
        "classes": CLASSES,
        "kind": kind,
        "l2": l2,
        "mean": mean.tolist(),
        "std": std.tolist(),
        "layers": [{"weight": L.weight.detach().numpy().tolist(), "bias": L.bias.detach().numpy().tolist()} for L in layers],
        "offsets": offsets.tolist(),
        "selection": {"loso_balanced_accuracy": results, "chosen": f"{kind} l2={l2}", "folds": list(FOLDS)},
        "seconds": round(time.time() - t0, 1),
    }
    json.dump(out, open(args.out, "w"))
    print(f"wrote {args.out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()

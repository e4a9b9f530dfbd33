"""Fine-tune Human's centernet MobileNetV3 trunk END TO END for the degradation recogniser (issue 16, wave 6).

    /usr/bin/python3 training/recognizer_finetune.py features            # frozen features of both sets (standardisation, linear probe)
    /usr/bin/python3 training/recognizer_finetune.py fold --hold V1      # validation fold: train without V1's sources, predict them per epoch
    /usr/bin/python3 training/recognizer_finetune.py fold --hold V2
    /usr/bin/python3 training/recognizer_finetune.py select              # epochs + class priors from the two folds (frozen vs fine-tuned)
    /usr/bin/python3 training/recognizer_finetune.py ensemble --epoch 2  # (amendment) mean logit of the frozen probe and epoch 2, its priors
    /usr/bin/python3 training/recognizer_finetune.py final               # everything, same schedule; checkpoint per epoch
    /usr/bin/python3 training/recognizer_finetune.py export [--out DIR]   # the chosen epoch's final checkpoint -> DIR/{model.onnx,card.json,golden.json,priors.json}

Data: the recogniser's patch sets (training/prepare/recognizer.ts --part main / --part portraits:
S1 TRAINING sources only, the views the library makes: a 128 px global view and six 96 px crops).

Network: the centernet trunk (the converted ONNX the library caches, run by training/cstrain/
onnx_torch.py as a trainable module, pretrained weights as the start) read at the same four taps
as src/restore/auto/analyzeBackbone.ts; per-channel mean and std per tap; global view + mean and
max over the six crops (3744 values); standardised with the PRETRAINED features' mean/std
(fixed); a linear multi-label head (6 classes, masked binary cross-entropy as before).
Schedule (fixed before any run, not searched): linear probe first (the frozen head of wave 5:
linear, L2 1e-3, 400 full-batch Adam steps), then EPOCHS (2) epochs of end-to-end fine-tuning, batch 8,
Adam, trunk lr 1e-4 and head lr 3e-4, cosine decay over EPOCHS epochs, the head's L2 kept.

Everything chosen is chosen on VALIDATION SOURCES carved out of the training side (never S1 test):
two fixed folds of the real training sources,
  V1 = rain100H-dev (its rainy + clean photos and the synthetic items made from its clean photos) + DICM
  V2 = Bahat-Irani (real haze) + deepface (portraits, real and synthetic);
each fold trains without its sources and predicts their REAL items after the linear probe (epoch 0
= the frozen trunk) and after every epoch. `select` pools the two folds' predictions and picks
  1. the number of epochs (0 = do not fine-tune), by balanced accuracy over rain/haze/lowlight/clean
     (primary = top logit >= 0 among rain/haze/lowlight/noise/blur; JPEG is its own head's);
  2. per-class logit offsets for that epoch (coordinate ascent, grid -3..3 step 0.25, ties smaller),
     as wave 5 did; the same is done at epoch 0 so frozen and fine-tuned are compared alike.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "cstrain"))
import patchset  # noqa: E402
from onnx_torch import OnnxModule  # noqa: E402

sys.path.insert(0, HERE)
# the class list and the decision rule (primary class, balanced accuracy, class priors) as the frozen head's trainer defines them
from recognizer_backbone import CLASSES, balanced, confusion, fit_offsets, true_class  # noqa: E402

CACHE = os.path.join(HERE, "cache")
OUT = os.path.join(CACHE, "finetune")
SETS = [os.path.join(CACHE, "recognizer"), os.path.join(CACHE, "recognizer-portraits")]
FOLDS = {
    "V1": ("real:derain/rain100H-dev/", "synthetic:derain/rain100H-dev/", "real:lowlight/DICM"),
    "V2": ("real:real-degraded/hazy_real", "real:faces/deepface", "synthetic:faces/deepface"),
}
TRUNK_GLOB = "centernet-trunk.onnx"
EPOCHS = 2
BATCH = 8
LR_TRUNK, LR_HEAD, L2 = 1e-4, 3e-4, 1e-3
CROPS = 6


def trunk_file():
    d = os.path.expanduser("~/.cache/clearsight/models")
    files = [f for f in os.listdir(d) if f.endswith("-1x128x128x3-c1-" + TRUNK_GLOB)]
    if len(files) != 1:
        raise SystemExit(f"expected one cached 1x128x128x3 centernet trunk in {d} (run the recogniser once), found {files}")
    return os.path.join(d, files[0])


class Data:
    def __init__(self):
        self.sets = [patchset.PatchSet(d) for d in SETS]
        self.items = [it for s in self.sets for it in s.items]
        self.offsets = np.cumsum([0] + [s.count for s in self.sets])
        self.labels = np.concatenate([np.asarray(s["labels"]) for s in self.sets])
        self.mask = np.concatenate([np.asarray(s["mask"]) for s in self.sets])
        self.real = np.array([bool(it.get("real")) for it in self.items])
        self.groups = [it["group"] for it in self.items]
        self.sha = ",".join(s.manifest_sha256 for s in self.sets)

    def views(self, ids):
        g, c = [], []
        for i in ids:
            k = int(np.searchsorted(self.offsets, i, side="right") - 1)
            g.append(np.asarray(self.sets[k]["global"][i - self.offsets[k]]))
            c.append(np.asarray(self.sets[k]["crops"][i - self.offsets[k]]))
        return torch.from_numpy(np.stack(g).astype(np.float32)), torch.from_numpy(np.stack(c).astype(np.float32))

    def held(self, fold):
        return np.array([any(g.startswith(p) for p in FOLDS[fold]) for g in self.groups])


def pool(taps, eps=1e-6):
    """Per-channel mean and std of NHWC taps (as analyzeBackbone.ts poolInto), concatenated: [B, 1248]."""
    out = []
    for t in taps:
        m = t.mean(dim=(1, 2))
        v = (t * t).mean(dim=(1, 2)) - m * m
        out += [m, torch.sqrt(v.clamp(min=0) + eps)]
    return torch.cat(out, dim=1)


class Recognizer(nn.Module):
    """Trunk + pooled features + standardisation + linear head; views as 0..255 NHWC floats."""

    def __init__(self, mean, std):
        super().__init__()
        self.trunk = OnnxModule(onnx.load(trunk_file()))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.head = nn.Linear(len(mean), len(CLASSES))

    def features(self, g, c):
        b = g.shape[0]
        fg = pool(self.trunk(g))
        fc = pool(self.trunk(c.reshape(b * CROPS, *c.shape[2:]))).reshape(b, CROPS, -1)
        return torch.cat([fg, fc.mean(1), fc.max(1).values], dim=1)

    def forward(self, g, c):
        return self.head((self.features(g, c) - self.mean) / self.std)


def masked_bce(logits, y, m):
    bce = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (bce * m).sum() / m.sum().clamp(min=1)


def cmd_features(args):
    data = Data()
    model = Recognizer(np.zeros(3744), np.ones(3744)).eval()
    n = len(data.items)
    feats = np.zeros((n, 3744), dtype=np.float32)
    t0 = time.time()
    with torch.no_grad():
        for s in range(0, n, 16):
            ids = list(range(s, min(n, s + 16)))
            feats[ids] = model.features(*data.views(ids)).numpy()
            if s % 320 == 0:
                print(f"features {s}/{n}, {time.time() - t0:.0f} s", flush=True)
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "features.npy"), feats)
    print(f"{n} items, {time.time() - t0:.0f} s -> {OUT}/features.npy")


def linear_probe(x, y, m, mean, std, seed=1):
    """The wave-5 frozen head (linear, L2 1e-3, 400 full-batch Adam steps) on standardised frozen features."""
    torch.manual_seed(seed)
    xt = torch.from_numpy((x - mean) / std)
    yt, mt = torch.from_numpy(y), torch.from_numpy(m)
    head = nn.Linear(x.shape[1], len(CLASSES))
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    for _ in range(400):
        opt.zero_grad()
        (masked_bce(head(xt), yt, mt) + L2 * (head.weight ** 2).sum()).backward()
        opt.step()
    return head


def train(data, train_ids, eval_ids, tag, stop_at, seed=1):
    """Linear probe then EPOCHS epochs of fine-tuning; returns {epoch: eval logits}; checkpoints per epoch."""
    feats = np.load(os.path.join(OUT, "features.npy"))
    x = feats[train_ids]
    mean, std = x.mean(0), x.std(0) + 1e-6
    model = Recognizer(mean, std)
    model.head.load_state_dict(linear_probe(x, data.labels[train_ids], data.mask[train_ids], mean, std, seed).state_dict())
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam([{"params": model.trunk.parameters(), "lr": LR_TRUNK}, {"params": model.head.parameters(), "lr": LR_HEAD}])
    steps_per_epoch = math.ceil(len(train_ids) / BATCH)
    total = EPOCHS * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    preds = {}

    def evaluate(epoch):
        if len(eval_ids) == 0:
            return
        model.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(eval_ids), 16):
                out.append(model(*data.views(eval_ids[s:s + 16])).numpy())
        preds[epoch] = np.concatenate(out)

    def save(epoch, partial=None):
        torch.save({"model": model.state_dict(), "epoch": epoch, "partial": partial, "steps_per_epoch": steps_per_epoch}, os.path.join(OUT, f"{tag}-e{epoch}.pt"))

    t0 = time.time()
    evaluate(0)
    save(0)
    step = 0
    for epoch in range(1, EPOCHS + 1):
        order = rng.permutation(train_ids)
        model.train()
        for b in range(steps_per_epoch):
            if stop_at and time.time() > stop_at:
                print(f"{tag}: wall-clock budget reached in epoch {epoch} at step {b}/{steps_per_epoch}; stopping", flush=True)
                save(epoch, partial=b)
                evaluate(epoch)
                return preds, {"stopped_in_epoch": epoch, "step": b, "steps_per_epoch": steps_per_epoch}
            ids = np.sort(order[b * BATCH:(b + 1) * BATCH])
            g, c = data.views(ids)
            loss = masked_bce(model(g, c), torch.from_numpy(data.labels[ids]), torch.from_numpy(data.mask[ids])) + L2 * (model.head.weight ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if b % 50 == 0:
                print(f"{tag} epoch {epoch} step {b}/{steps_per_epoch} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
        save(epoch)
        evaluate(epoch)
        print(f"{tag}: epoch {epoch} done ({time.time() - t0:.0f} s)", flush=True)
    return preds, {"epochs": EPOCHS, "steps_per_epoch": steps_per_epoch, "seconds": round(time.time() - t0)}


def cmd_fold(args):
    torch.set_num_threads(args.threads)
    data = Data()
    held = data.held(args.hold)
    train_ids = np.nonzero(~held)[0]
    eval_ids = np.nonzero(held & data.real)[0]
    print(f"fold {args.hold}: {len(train_ids)} training items, {len(eval_ids)} held-out real items", flush=True)
    preds, info = train(data, train_ids, eval_ids, f"fold-{args.hold}", args.stop_at)
    truth = [true_class(data.labels[i]) for i in eval_ids]
    out = {"fold": args.hold, "truth": truth, "ids": eval_ids.tolist(), "logits": {str(k): v.tolist() for k, v in preds.items()}, "info": info}
    json.dump(out, open(os.path.join(OUT, f"fold-{args.hold}.json"), "w"))
    zero = np.zeros(len(CLASSES), dtype=np.float32)
    for k, v in preds.items():
        print(f"fold {args.hold} epoch {k}: balanced {balanced(v, truth, zero):.3f} {confusion(v, truth, zero)}", flush=True)


def cmd_select(args):
    folds = [json.load(open(os.path.join(OUT, f"fold-{f}.json"))) for f in FOLDS]
    epochs = sorted(set.intersection(*[set(f["logits"]) for f in folds]), key=int)
    zero = np.zeros(len(CLASSES), dtype=np.float32)
    rows = {}
    for e in epochs:
        logits = np.concatenate([np.array(f["logits"][e]) for f in folds])
        truth = sum((f["truth"] for f in folds), [])
        offs = fit_offsets(logits, truth)
        rows[e] = {"balanced": balanced(logits, truth, zero), "balanced_with_offsets": balanced(logits, truth, offs), "offsets": offs.tolist(),
                   "confusion": confusion(logits, truth, zero), "confusion_with_offsets": confusion(logits, truth, offs)}
        print(f"epoch {e}: balanced {rows[e]['balanced']:.3f} -> {rows[e]['balanced_with_offsets']:.3f} with offsets {dict(zip(CLASSES, offs.tolist()))}")
        print(f"   {rows[e]['confusion_with_offsets']}")
    best = max(epochs, key=lambda e: (rows[e]["balanced"], -int(e)))
    print(f"chosen epochs: {best} (0 = the frozen trunk: do not fine-tune)")
    json.dump({"epochs": rows, "chosen_epoch": int(best), "offsets": rows[best]["offsets"], "folds": FOLDS, "infos": [f["info"] for f in folds]},
              open(os.path.join(OUT, "select.json"), "w"), indent=1)


def cmd_ensemble(args):
    """Validation figure of the mean of the frozen probe's (epoch 0) and epoch E's logits, with priors fitted for the pair (wave-6 amendment)."""
    folds = [json.load(open(os.path.join(OUT, f"fold-{f}.json"))) for f in FOLDS]
    truth = sum((f["truth"] for f in folds), [])
    z = {e: np.concatenate([np.array(f["logits"][e]) for f in folds]) for e in ("0", str(args.epoch))}
    zero = np.zeros(len(CLASSES), dtype=np.float32)
    mean = (z["0"] + z[str(args.epoch)]) / 2
    offs = fit_offsets(mean, truth)
    row = {"epoch": args.epoch, "balanced": balanced(mean, truth, zero), "balanced_with_offsets": balanced(mean, truth, offs), "offsets": offs.tolist(),
           "confusion_with_offsets": confusion(mean, truth, offs)}
    print(f"mean logit of epoch 0 and epoch {args.epoch}: balanced {row['balanced']:.3f} -> {row['balanced_with_offsets']:.3f} with offsets "
          f"{dict(zip(CLASSES, offs.tolist()))}\n   {row['confusion_with_offsets']}")
    json.dump(row, open(os.path.join(OUT, "ensemble.json"), "w"), indent=1)


def cmd_final(args):
    torch.set_num_threads(args.threads)
    data = Data()
    train(data, np.arange(len(data.items)), np.array([], dtype=int), "final", args.stop_at)


class Exported(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, global_view, crops):
        return self.model(global_view, crops.unsqueeze(0))


def fp16_weights(model_proto):
    """Large float initializers stored as float16 with a Cast back to float (halves the file; onnxruntime folds the casts at load)."""
    g = model_proto.graph
    casts = []
    keep = []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= 256:
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return model_proto


def conv_flops(model, inputs):
    """Multiply-adds x 2 of the convolutions and the head for one recognition (the graph calls F.conv2d directly)."""
    total = [0]
    orig = torch.nn.functional.conv2d

    def counting(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        y = orig(x, w, b, stride, padding, dilation, groups)
        total[0] += 2 * y.numel() * w.shape[1] * w.shape[2] * w.shape[3]
        return y

    torch.nn.functional.conv2d = counting
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        torch.nn.functional.conv2d = orig
    return total[0] + 2 * model.model.head.in_features * model.model.head.out_features


def cmd_export(args):
    sel = json.load(open(os.path.join(OUT, "select.json")))
    epoch = sel["chosen_epoch"] if args.epoch is None else args.epoch
    if epoch != sel["chosen_epoch"]:
        print(f"WARNING: exporting epoch {epoch}, not the validation-chosen {sel['chosen_epoch']} (its own validation offsets are written)")
    state = torch.load(os.path.join(OUT, f"final-e{epoch}.pt"))
    model = Recognizer(np.zeros(3744), np.ones(3744))
    model.load_state_dict(state["model"])
    model.eval()
    # The file stores float16 weights: round them here so PyTorch's golden output is the exported network's.
    for t in list(model.parameters()) + list(model.buffers()):
        if t.dtype == torch.float32 and t.numel() >= 256:
            t.data = t.data.half().float()
    wrap = Exported(model).eval()
    gen = torch.Generator().manual_seed(0)
    g = torch.randint(0, 256, (1, 128, 128, 3), generator=gen).float()
    c = torch.randint(0, 256, (CROPS, 96, 96, 3), generator=gen).float()
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(wrap, (g, c), onnx_path + ".tmp", input_names=["global", "crops"], output_names=["logits"], opset_version=13, do_constant_folding=False)
    proto = fp16_weights(onnx.load(onnx_path + ".tmp"))
    proto.producer_name = "clearsight training/recognizer_finetune.py"
    onnx.checker.check_model(proto)
    onnx.save(proto, onnx_path)
    os.remove(onnx_path + ".tmp")
    with torch.no_grad():
        ref = wrap(g, c)
    from export import _tensor_json, _write_json_atomic  # training/cstrain/export.py: the golden layout every trained model uses
    _write_json_atomic(os.path.join(args.out, "golden.json"), {"tolerance": 1e-4, "inputs": [_tensor_json("global", g), _tensor_json("crops", c)],
                                                              "outputs": [_tensor_json("logits", ref)]})
    priors = {"offsets": sel["epochs"][str(epoch)]["offsets"], "classes": CLASSES,
              "chosenOn": "pooled held-out real items of validation folds V1+V2 (training side of S1), coordinate ascent on balanced accuracy"}
    ens = json.load(open(os.path.join(OUT, "ensemble.json"))) if args.ensemble else None
    if ens:
        assert ens["epoch"] == epoch, f"ensemble.json is for epoch {ens['epoch']}, exporting {epoch}"
        priors["ensemble"] = {"head": "degradation-recognizer/backbone-head.json", "offsets": ens["offsets"],
                              "note": "mean of this network's logits and the frozen-backbone head's; offsets fitted for the pair on the same validation folds"}
    _write_json_atomic(os.path.join(args.out, "priors.json"), priors, indent=1)
    data = Data()
    counts = {}
    for gname in data.groups:
        counts[gname] = counts.get(gname, 0) + 1
    e0, ec = sel["epochs"]["0"], sel["epochs"][str(epoch)]
    infos = sel["infos"]
    final_info = {"steps_per_epoch": state["steps_per_epoch"]}
    card = {
        "format": "clearsight-trained-model/1", "file": "model.onnx", "sha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(), "golden": "golden.json",
        "name": "degradation-recognizer-ft", "version": "1.0.0", "task": "analyze", "kind": "tensor",
        "architecture": "Human centernet MobileNetV3 trunk (COCO-pretrained, @vladmandic/human, converted to ONNX) fine-tuned end to end; "
                        "per-channel mean and std at 4 taps (strides 4/8/16/32; 24/32/88/480 ch) of the global 128 px view and of six 96 px crops "
                        "(crops: mean and max over the six) = 3744 values, standardised, linear head to 6 logits; float16 weights",
        "params": int(sum(p.numel() for p in model.parameters())),
        "flopsPerMegapixel": conv_flops(wrap, (g, c)),
        "io": {"inputs": [{"name": "global", "shape": [1, 128, 128, 3], "range": [0, 255]}, {"name": "crops", "shape": [CROPS, 96, 96, 3], "range": [0, 255]}],
               "outputs": [{"name": "logits", "shape": [1, 6], "meaning": "logit of P(present) for rain,haze,lowlight,noise,blur,jpeg (add priors.json offsets, then sigmoid)"}]},
        "training": {
            "data": [{"source": k, "count": v, "manifestSha256": data.sha, "role": "train (S1 training sources only)"} for k, v in sorted(counts.items())],
            "split": "cross-source split S1: training sources only; validation folds V1 (rain100H-dev + DICM) and V2 (Bahat-Irani + deepface) held out in turn to choose epochs and class priors",
            "seed": 1, "command": "/usr/bin/python3 training/recognizer_finetune.py features|fold --hold V1|fold --hold V2|select|final|export",
            "steps": int(epoch * state["steps_per_epoch"] if state.get("partial") is None else (epoch - 1) * state["steps_per_epoch"] + state["partial"]),
            "wallTimeSeconds": float(args.wall or 0), "machine": "2 shared CPU cores (load 7-14), torch 1.13 CPU, 1 thread",
        },
        "quality": [
            {"dataset": "validation folds V1+V2 (held-out real items of training-side sources: rain100H-dev rainy/clean, DICM, Bahat-Irani hazy, deepface portraits)",
             "split": "cross-source", "metric": "balanced accuracy rain/haze/lowlight/clean, no priors", "value": round(ec["balanced"], 4),
             "reference": {"name": "same trunk frozen (linear probe, epoch 0)", "value": round(e0["balanced"], 4)},
             "note": f"this network: epoch {epoch}; epochs chosen on this figure for fine-tuning alone: {sel['chosen_epoch']}", "command": "/usr/bin/python3 training/recognizer_finetune.py select"},
            {"dataset": "validation folds V1+V2 (as above)", "split": "training", "metric": "balanced accuracy with class priors fitted on the same predictions",
             "value": round(ec["balanced_with_offsets"], 4), "reference": {"name": "frozen trunk, own priors", "value": round(e0["balanced_with_offsets"], 4)},
             "note": "the priors are fitted on these predictions, so this is an in-sample figure", "command": "/usr/bin/python3 training/recognizer_finetune.py select"},
        ] + ([{"dataset": "validation folds V1+V2 (as above)", "split": "cross-source", "metric": "balanced accuracy of the mean logit with the frozen probe, no priors",
                "value": round(ens["balanced"], 4), "reference": {"name": "frozen trunk alone", "value": round(e0["balanced"], 4)},
                "note": f"with priors fitted for the pair on the same predictions (in-sample): {ens['balanced_with_offsets']:.4f}; the pair was proposed after seeing the folds",
                "command": f"/usr/bin/python3 training/recognizer_finetune.py ensemble --epoch {epoch}"}] if args.ensemble else []),
        "speed": [],
        "licence": "MIT (weights derived from @vladmandic/human's centernet, MIT)",
        "paper": "Howard et al., Searching for MobileNetV3 (trunk); Zhou et al., Objects as Points (CenterNet); idea: Diff-Restorer (degradation embedding routes the restoration)",
        "notes": [f"schedule fixed before training: linear probe then {EPOCHS} epochs, batch {BATCH}, Adam trunk lr {LR_TRUNK}, head lr {LR_HEAD}, cosine; head L2 {L2}",
                  f"fold runs: {infos}; final run: {final_info}",
                  "S1 test figures: see docs/restore-auto.md and the bench (`npm run bench:analyze -- --candidate <this folder>`)"],
    }
    _write_json_atomic(os.path.join(args.out, "card.json"), card, indent=2)
    size = os.path.getsize(onnx_path)
    print(f"wrote {args.out} (model.onnx {size / 1e6:.2f} MB), epoch {epoch}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["features", "fold", "select", "ensemble", "final", "export"])
    ap.add_argument("--hold", choices=sorted(FOLDS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--stop-at", type=float, default=0, help="unix time: stop (checkpoint, evaluate) when passed")
    ap.add_argument("--epoch", type=int)
    ap.add_argument("--out", default=os.path.join(OUT, "degradation-recognizer-ft"), help="export: the model folder (card.json, model.onnx, golden.json, priors.json)")
    ap.add_argument("--ensemble", action="store_true", help="export: priors.json names the mean-logit ensemble with the frozen head (ensemble.json)")
    ap.add_argument("--wall", type=float, help="export: training wall time in seconds for the card")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    {"features": cmd_features, "fold": cmd_fold, "select": cmd_select, "ensemble": cmd_ensemble, "final": cmd_final, "export": cmd_export}[args.command](args)


if __name__ == "__main__":
    main()

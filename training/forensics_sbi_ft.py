"""Face-manipulation detector fine-tuned END TO END from a pretrained network we already ship.

    nice -n 10 /usr/bin/python3 training/forensics_sbi_ft.py --base centernet|faceres|antispoof
        --threads 1 --minutes 20 [--init ckpt.pt] [--lr 1e-4] [--out models/forensics-sbi-ft] [--smoke]

Why: the SBI recipe (Shiohara & Yamasaki 2022) works because a strong pretrained backbone is
fine-tuned end to end on self-blends; our small CNN was trained from scratch and the frozen-trunk
probe never adapted its features. This starts from one of Human's networks (the converted ONNX in
the library's model cache, run as a trainable torch module by cstrain/onnx_torch.py) and trains
every weight.

Bases (the ONNX the library converts on first use: see BASES for how each is found):
  centernet  MobileNetV3 trunk of Human's COCO object detector (the recogniser's backbone), 0..255
             input at 128 px; taps at strides 4, 8, 16 (cut before the deepest stage: 5 MB limit).
  faceres    Human's FaceRes (HSE, MobileNetV1 body: identity/age/gender), 0..255 input, run on the
             112 px crop as is; taps conv_pw_3/5/9 (strides 4, 8, 16; cut at pw_9 for the 5 MB limit).
  antispoof  Human's antispoof CNN (3 conv + dense 128), [0,1] input at 128 px; tap: the dense layer.
Head: global average pool of every tap, concatenated, dropout 0.2, linear -> one logit.

Input of the exported model: the CNN detector's face crop (src/trust/forensics/cnnCrop.ts,
112x112 NHWC RGB in [0,1]), so inference is the CNN detector's code with another model folder.

Data: the patch sets of training/prepare/forensics-sbi.ts (pairs real / self-blend, split by
PERSON; test people and generated media never prepared). Augmentation on top of the prepared
degradations, the same for both members of a pair (so the pair differs only by the blend):
resolution loss (down to 35-90 % and back), JPEG re-compression q30-90 with 4:2:0 chroma, a light
blur (the loop filter of H.264 at low rates), brightness/contrast, flips. Validation AUC (every
item of the validation people) picks the checkpoint; nothing else is looked at.

Schedule by wall clock (--minutes): cosine decay over the budget after a short warm-up, so a run
ends when it is told to on a shared machine; checkpoints at each evaluation (--resume).
"""
import glob
import io
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageFilter

from cstrain import export as cexport
from cstrain import onnx_torch
from cstrain import run
from cstrain.metrics import auc
from cstrain.patchset import PatchSet

NAME = "forensics-sbi-ft"
SIZE = 112
CACHE = os.path.expanduser(os.environ.get("CLEARSIGHT_CACHE_DIR", "~/.cache/clearsight") + "/models")

# Each base: the cached ONNX (by the tfjs model's sha256 prefix, as src/face/models.ts and
# src/restore/auto/analyzeBackbone.ts name them), its input scale and size, and the taps.
BASES = {
    "centernet": {
        "file": "d82f7efbe2194b1638ba372759077a9f-1x128x128x3-c1-centernet-trunk.onnx",
        "how": "backboneOnnx(128) in src/restore/auto/analyzeBackbone.ts (Human models/centernet.json)",
        "scale": 255.0, "size": 128, "taps": ["output_0", "output_1", "output_2"], "nhwc": True,
    },
    "faceres": {
        "file": "1028a60eeb7af9949dcf2123a1dd2335-1x224x224x3-c1.onnx",
        "how": "FaceModels.load({ embed: true }) in src/face/models.ts (Human models/faceres.json)",
        "scale": 255.0, "size": SIZE,
        "taps": ["conv_pw_3_relu/clip_by_value", "conv_pw_5_relu/clip_by_value", "conv_pw_9_relu/clip_by_value"], "nhwc": None,
    },
    "antispoof": {
        "file": "ed5826d70a3c8f1ec4fb0eed3b1d06ef-1x128x128x3-c1.onnx",
        "how": "FaceModels.load({ liveness: true }) in src/face/models.ts (Human models/antispoof.json)",
        "scale": 1.0, "size": 128, "taps": None, "nhwc": None,
    },
}


def antispoof_tap(graph):
    """The antispoof net's 128-d dense activation (the Relu after the first Gemm)."""
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    first = gemms[0].output[0]
    for n in graph.node:
        if n.op_type == "Relu" and n.input[0] == first:
            return n.output[0]
    return first


class FineTuned(nn.Module):
    """NHWC [0,1] 112x112 face crops in, one logit out, through a pretrained ONNX trunk."""

    def __init__(self, base):
        super().__init__()
        spec = BASES[base]
        import onnx

        model = onnx.load(os.path.join(CACHE, spec["file"]))
        taps = spec["taps"] or [antispoof_tap(model.graph)]
        self.trunk = onnx_torch.OnnxModule(model, outputs=taps)
        self.scale, self.size = spec["scale"], spec["size"]
        with torch.no_grad():
            outs = self._taps(torch.rand(2, SIZE, SIZE, 3))
        self.tap_shapes = [list(o.shape[1:]) for o in outs]
        self.head = nn.Linear(sum(self._pool(o).shape[1] for o in outs), 1)
        self.drop = nn.Dropout(0.2)
        self._prune_unused()

    def _prune_unused(self):
        """Drops initializers the cut graph never reads (so the optimizer and checkpoint skip them)."""
        used = set()
        env = set(self.trunk.input_names)
        for node in self.trunk.graph.node:
            used.update(node.input)
            env.update(node.output)
            if set(self.trunk.output_names).issubset(env):
                break
        for name, key in list(self.trunk._keys.items()):
            if name not in used:
                del self.trunk.params[key]
                del self.trunk._keys[name]

    def _taps(self, x):
        if self.size != SIZE:
            x = F.interpolate(x.permute(0, 3, 1, 2), size=(self.size, self.size), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
        out = self.trunk(x * self.scale)
        return out if isinstance(out, tuple) else (out,)

    @staticmethod
    def _pool(t):
        if t.dim() == 2:
            return t
        # Layout: the channel axis is the one whose size is not spatial (taps here are square).
        if t.shape[1] == t.shape[2] and t.shape[3] != t.shape[1]:
            return t.mean(dim=(1, 2))  # NHWC
        return t.mean(dim=(2, 3))  # NCHW

    def forward(self, face):
        feats = torch.cat([self._pool(t) for t in self._taps(face)], dim=1)
        return self.head(self.drop(feats))


def flops_per_megapixel(model):
    """Multiply-adds x 2 of every convolution of the trunk (run through onnx_torch's Conv) and the
    head, for one 112x112 crop, scaled to a megapixel (cexport's hook counts nn.Conv2d modules only)."""
    total = [0]
    conv = onnx_torch._OPS["Conv"]

    def counting(m, a, at):
        out = conv(m, a, at)
        w = a[1]
        total[0] += 2 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
        return out

    onnx_torch._OPS["Conv"] = counting
    try:
        with torch.no_grad():
            model.eval()(torch.rand(1, SIZE, SIZE, 3))
    finally:
        onnx_torch._OPS["Conv"] = conv
    total[0] += 2 * model.head.in_features
    return total[0] * 1e6 / (SIZE * SIZE)


def evaluate(model, images, labels, batch=64):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).float().div_(255.0)
            out.append(model(x).squeeze(1).numpy())
    model.train()
    scores = np.concatenate(out)
    return auc(scores, labels), scores


def degrade_pair(a, b, rng):
    """The same real-media quality loss for both members of a pair (uint8 HxWx3 each)."""
    ims = [Image.fromarray(a), Image.fromarray(b)]
    if rng.random() < 0.5:
        side = int(SIZE * rng.uniform(0.35, 0.9))
        down = [Image.BILINEAR, Image.BOX, Image.BICUBIC][rng.integers(3)]
        ims = [im.resize((side, side), down).resize((SIZE, SIZE), Image.BILINEAR) for im in ims]
    if rng.random() < 0.5:
        q = int(rng.integers(30, 91))
        out = []
        for im in ims:
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=q, subsampling=2)
            buf.seek(0)
            out.append(Image.open(buf).convert("RGB"))
        ims = out
    if rng.random() < 0.2:
        r = float(rng.uniform(0.3, 0.8))
        ims = [im.filter(ImageFilter.GaussianBlur(r)) for im in ims]
    return [np.asarray(im) for im in ims]


def batch_of(images, pick, rng):
    xs = []
    for p in pick:
        a, b = degrade_pair(images[p], images[p + 1], rng)
        xs += [a, b]
    x = torch.from_numpy(np.stack(xs)).float().div_(255.0)
    n = len(pick)
    gain = torch.from_numpy(rng.uniform(0.85, 1.15, size=n)).float().repeat_interleave(2)
    bias = torch.from_numpy(rng.uniform(-0.05, 0.05, size=n)).float().repeat_interleave(2)
    x = (x * gain[:, None, None, None] + bias[:, None, None, None]).clamp_(0, 1)
    flip = torch.from_numpy(rng.random(2 * n) < 0.5)
    x[flip] = x[flip].flip(2)
    return x


def main():
    p = run.parser(__doc__.splitlines()[0], default_steps=100000)
    p.add_argument("--base", choices=sorted(BASES), required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4, help="trunk learning rate (the new head gets 10x)")
    p.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget of this run (the schedule spans it)")
    p.add_argument("--eval-seconds", type=float, default=150.0)
    p.add_argument("--init", help="start from the best weights of this checkpoint (.pt) with a fresh schedule")
    p.add_argument("--tag", default="", help="checkpoint name suffix (several runs side by side)")
    p.add_argument("--no-export", action="store_true", help="screening run: checkpoint and validation only")
    p.add_argument("--selection", help="the screening table (training/forensics-ft.sh) to record in the card")
    p.add_argument("--note", action="append", default=[], help="a line for the card's notes (e.g. how the run ended)")
    args = p.parse_args()
    run.setup(args)
    if args.smoke:
        args.minutes = min(args.minutes, 0.5)
        args.eval_seconds = 10
    cache = os.path.join(run.REPO, "training", "cache")
    data_dirs = args.data.split(",") if args.data else [os.path.join(cache, "forensics-sbi-photos"), os.path.join(cache, "forensics-sbi-videos")]
    sets = [PatchSet(d) for d in data_dirs]
    images = np.concatenate([np.asarray(d["image"]) for d in sets])
    labels = np.concatenate([np.asarray(d["label"][:, 0]) for d in sets])
    items = [it for d in sets for it in d.items]
    train = np.array([i for i, it in enumerate(items) if it["split"] == "train"])
    val = np.array([i for i, it in enumerate(items) if it["split"] == "val"])
    train_pairs = train[labels[train] == 0]
    train_pairs = train_pairs[np.isin(train_pairs + 1, train)]
    val_images = np.asarray(images[val])
    val_labels = labels[val]
    if args.smoke:
        val_images, val_labels = val_images[:64], val_labels[:64]
    print(f"{len(train)} train, {len(val)} val items; base {args.base}", flush=True)

    model = FineTuned(args.base)
    print(f"taps {model.tap_shapes}; {cexport.count_params(model)} params", flush=True)
    init_info = None
    if args.init:
        c = torch.load(args.init)
        model.load_state_dict(c["best"]["state"])
        init_info = {"from": os.path.relpath(args.init, run.REPO), "step": int(c["best"]["step"]) + int(c.get("init_steps", 0)), "valAuc": c["best"]["auc"],
                     "minutes": round(c.get("elapsed", 0) / 60, 1) + (c.get("init_info") or {}).get("minutes", 0)}
        print(f"initialised from {args.init} (best of step {c['best']['step']}, val AUC {c['best']['auc']:.4f})", flush=True)
    head_params = list(model.head.parameters())
    trunk_params = [p_ for n_, p_ in model.named_parameters() if not n_.startswith("head.")]
    opt = torch.optim.AdamW([{"params": trunk_params, "lr": args.lr}, {"params": head_params, "lr": 10 * args.lr}], weight_decay=1e-4)
    base_lrs = [args.lr, 10 * args.lr]
    tag = NAME + "-" + args.base + args.tag + ("-smoke" if args.smoke else "")
    ckpt = run.checkpoint_path(tag)
    log = run.LossLog(os.path.join(os.path.dirname(ckpt), tag + ".csv"))
    step, best, elapsed = 0, {"auc": -1.0, "step": 0, "state": None}, 0.0
    if args.resume and os.path.exists(ckpt):
        c = torch.load(ckpt)
        model.load_state_dict(c["model"])
        opt.load_state_dict(c["opt"])
        step, best, log.rows, elapsed = c["step"], c["best"], c["log"], c.get("elapsed", 0.0)
        print(f"resumed at step {step} ({elapsed:.0f}s), best val AUC {best['auc']:.4f} at {best['step']}", flush=True)
    budget = args.minutes * 60
    rng = np.random.default_rng(args.seed + step)
    t0 = time.time() - elapsed
    last_eval = time.time()
    running = []

    def evaluate_and_save():
        nonlocal best
        val_auc, _ = evaluate(model, val_images, val_labels)
        log.add(step, val_auc_gap=max(1e-4, 1 - val_auc))
        print(f"  step {step} val AUC {val_auc:.4f} ({time.time() - t0:.0f}s)", flush=True)
        if val_auc > best["auc"]:
            best = {"auc": val_auc, "step": step, "state": {k: v.clone() for k, v in model.state_dict().items()}}
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best, "log": log.rows,
                    "elapsed": time.time() - t0, "base": args.base, "init_info": init_info,
                    "init_steps": (init_info or {}).get("step", 0)}, ckpt)

    if not args.resume or step == 0:
        evaluate_and_save()  # step 0: the pretrained trunk with an untrained head (a floor)
    model.train()
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        factor = min(1.0, frac / 0.05) if frac < 0.05 else 0.5 * (1 + np.cos(np.pi * (frac - 0.05) / 0.95))
        for g_, lr0 in zip(opt.param_groups, base_lrs):
            g_["lr"] = lr0 * max(factor, 0.02)
        pick = np.sort(rng.choice(train_pairs, size=args.batch // 2, replace=False))
        idx = np.stack([pick, pick + 1], 1).reshape(-1)
        x = batch_of(images, pick, rng)
        y = torch.from_numpy(labels[idx]).float().unsqueeze(1)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running.append(loss.item())
        step += 1
        if step % 25 == 0:
            log.add(step, train_bce=np.mean(running))
            print(f"step {step} bce {np.mean(running):.4f} lr {opt.param_groups[0]['lr']:.2e} {time.time() - t0:.0f}s", flush=True)
            running = []
        if time.time() - last_eval > args.eval_seconds:
            evaluate_and_save()
            last_eval = time.time()
    evaluate_and_save()
    wall = time.time() - t0
    print(f"best val AUC {best['auc']:.4f} at step {best['step']} of {step} ({wall:.0f}s)", flush=True)
    if args.no_export:
        return

    model.load_state_dict(best["state"])
    model.eval()
    val_auc, val_scores = evaluate(model, val_images, val_labels)
    out = run.out_dir(args, NAME)
    log.save(os.path.join(out, "loss.png"), f"{NAME} ({args.base}): train BCE, 1 - val AUC")
    g = torch.Generator().manual_seed(args.seed)
    golden = torch.rand(2, SIZE, SIZE, 3, generator=g)
    spec = BASES[args.base]
    total_minutes = round(wall / 60 + (init_info or {}).get("minutes", 0), 1)
    # The exported weights' own training: the best checkpoint's step (+ the run it started from).
    total_steps = best["step"] + (init_info or {}).get("step", 0)
    card = {
        "name": NAME,
        "version": "1.0.0",
        "task": "forensics",
        "kind": "tensor",
        "architecture": f"pretrained {args.base} trunk (Human; {spec['how']}) fine-tuned end to end; taps {model.tap_shapes} global-average-pooled, concatenated, dropout 0.2, linear -> 1 logit; input NHWC RGB [0,1] 112x112 face crop (src/trust/forensics/cnnCrop.ts), scaled x{spec['scale']:g}, resized to {spec['size']} px inside the graph",
        "flopsPerMegapixel": flops_per_megapixel(model),
        "io": {
            "inputs": [{"name": "face", "shape": ["N", SIZE, SIZE, 3], "range": [0, 1]}],
            "outputs": [{"name": "logit", "shape": ["N", 1], "meaning": "log-odds that the face was blended in (uncalibrated; calibration in detector.json)"}],
        },
        "training": {
            "base": {"network": args.base, "onnx": spec["file"], "how": spec["how"]},
            "data": [
                *[{"source": f"{os.path.relpath(d.dir, run.REPO)} ({d.manifest.get('notes', '')})", "count": int(d.count), "manifestSha256": d.manifest_sha256, "role": "train+val"} for d in sets],
                {"source": f"train items ({len({items[i]['group'] for i in train})} people/identities)", "count": int(len(train)), "role": "train"},
                {"source": f"val items ({len({items[i]['group'] for i in val})} people/identities)", "count": int(len(val)), "role": "checkpoint and base selection, calibration"},
            ],
            "augmentation": "per pair alike: resolution loss to 35-90% and back (p 0.5), JPEG q30-90 4:2:0 (p 0.5), Gaussian blur 0.3-0.8 px (p 0.2), gain 0.85-1.15, offset +-0.05; flips",
            "split": "by person / photo identity (bench/lib/faceVideos.ts TEST_PEOPLE and VALIDATION_PEOPLE; 20% of photo identities to val)",
            "seed": args.seed,
            "command": run.command_line(),
            "steps": int(total_steps),
            "batch": args.batch,
            "wallTimeSeconds": round(total_minutes * 60, 1),
            "init": init_info,
            "baseSelection": json.load(open(args.selection)) if args.selection else None,
            "machine": run.machine(),
            "lossCurve": "loss.png",
        },
        "quality": [
            {"dataset": "self-blended pairs of validation people (same recipe as training)", "split": "held-out", "metric": "AUC (face crop)",
             "value": round(val_auc, 4), "note": f"checkpoint of step {total_steps} ({best['step']} of this run of {step}) and the base network chosen on this split: optimistic", "command": run.command_line()},
        ],
        "paper": "Shiohara & Yamasaki, Detecting Deepfakes with Self-Blended Images, CVPR 2022",
        "licence": "MIT (the starting weights ship in @vladmandic/human, MIT)",
        "notes": ["Cross-source figures on real generated videos: docs/benchmarks/forensics-ft.json (npm run bench:forensics-ft)."] + args.note,
    }
    cexport.export(model, out, input_names=["face"], output_names=["logit"], golden_inputs=[golden],
                   dynamic_axes={"face": {0: "N"}, "logit": {0: "N"}}, card=card)
    with open(os.path.join(os.path.dirname(ckpt), tag + "-val.json"), "w") as f:
        json.dump({"logits": [round(float(s), 5) for s in val_scores], "labels": [int(l) for l in val_labels],
                   "groups": [items[i]["group"] for i in val]}, f)
    print(f"exported {out} (val AUC {val_auc:.4f})", flush=True)


if __name__ == "__main__":
    main()

"""Temporal liveness model: a small GRU with attention over the per-frame liveness cues.

    /usr/bin/python3 training/liveness_gru.py [--data training/cache/liveness-seq] [--steps 300]
        [--seed 1] [--threads 1] [--hidden 16] [--out models/liveness-gru] [--smoke]

Input per clip: the [T, 14] cue matrix of src/face/liveness (CUES order) and a [T] mask of frames
with a face (training/prepare/liveness-seq.ts). The network standardises each cue with the
training set's mean/std (baked into the ONNX), clips to +-6, runs a one-layer GRU, pools its states
with attention (softmax over the masked frames) and gives P(bona fide); an auxiliary head predicts
the attack family (bona fide / print / replay / cut-eye) during training only.

Evaluation, before the final fit: leave-one-person-out and leave-one-source-out (the network is
retrained from scratch without the held-out group, then scores it), APCER per attack type, BPCER,
ACER at 0.5 with exact (Clopper-Pearson) 95 % intervals. These are the card's figures; the final
model is then fitted on every clip (its own training figure is labelled as such).
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import math

sys.path.insert(0, os.path.dirname(__file__))
from cstrain import export, patchset, run  # noqa: E402

NAME = "liveness-gru"
KINDS = ["bonafide", "print", "replay", "cutEye"]
CUES = ["blink", "mouth", "nonRigid", "eyeMotion", "gaze", "headPose", "antispoof", "liveness", "microMotion", "pulse",
        "texture", "moire", "banding", "stutter"]


class TemporalLiveness(nn.Module):
    def __init__(self, mean, std, hidden):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.gru = nn.GRU(len(mean), hidden, batch_first=True)
        self.attend = nn.Linear(hidden, 1)
        self.live = nn.Linear(hidden, 1)
        self.kind = nn.Linear(hidden, len(KINDS))

    def forward(self, cues, mask, with_kind=False):
        z = ((cues - self.mean) / self.std).clamp(-6.0, 6.0) * mask.unsqueeze(-1)
        h, _ = self.gru(z)
        logits = self.attend(h).squeeze(-1) + (mask - 1.0) * 1e4  # frames without a face get no attention
        weights = torch.softmax(logits, dim=1)
        pooled = (weights.unsqueeze(-1) * h).sum(dim=1)
        live = torch.sigmoid(self.live(pooled)).squeeze(-1)
        if with_kind:
            return live, weights, self.kind(pooled), pooled
        return live, weights


def standardisation(cues, mask, idx):
    x = cues[idx][mask[idx] > 0]
    mean = x.mean(axis=0)
    std = np.maximum(x.std(axis=0), 1e-6)
    return mean, std


def _coral(a, b):
    """CORAL distance (Sun & Saenko 2016) plus the squared mean difference between two feature sets."""
    ca = torch.cov(a.T) if len(a) > 1 else torch.zeros(a.shape[1], a.shape[1])
    cb = torch.cov(b.T) if len(b) > 1 else torch.zeros(b.shape[1], b.shape[1])
    return ((a.mean(0) - b.mean(0)) ** 2).sum() + ((ca - cb) ** 2).sum() / 4


def cross_source(pooled, y, src, kind):
    """The cross-source term on the bona fide class's pooled features (the attention-pooled GRU state).

    coral: mean + covariance alignment, averaged over every pair of training sources;
    pairs: total pairwise confusion, the mean squared distance between bona fide clips of DIFFERENT
    sources (Dubey et al. 2018's pairwise confusion, with source in place of class).
    Sources with fewer than two bona fide clips in the fold are left out of coral.
    """
    live = y > 0.5
    h, s = pooled[live], src[live]
    if kind == "coral":
        groups = [h[s == g] for g in torch.unique(s) if int((s == g).sum()) >= 2]
        terms = [_coral(groups[i], groups[j]) for i in range(len(groups)) for j in range(i + 1, len(groups))]
        return torch.stack(terms).mean() if terms else pooled.sum() * 0
    if kind == "pairs":
        d = ((h.unsqueeze(0) - h.unsqueeze(1)) ** 2).sum(-1)
        other = (s.unsqueeze(0) != s.unsqueeze(1)).float()
        return (d * other).sum() / other.sum().clamp(min=1)
    return pooled.sum() * 0


def fit(cues, mask, label, idx, args, log=None, sources=None):
    torch.manual_seed(args.seed)
    mean, std = standardisation(cues, mask, idx)
    net = TemporalLiveness(mean, std, args.hidden)
    x = torch.tensor(cues[idx])
    m = torch.tensor(mask[idx])
    y = torch.tensor(label[idx, 0])
    k = torch.tensor(label[idx, 1]).long()
    # classes balanced: each attack clip was made from one bona fide clip, so attacks outnumber it 3:1
    w = torch.where(y > 0.5, (y < 0.5).sum() / y.sum().clamp(min=1), torch.ones_like(y))
    names = sorted(set(sources)) if sources is not None else []
    src = torch.tensor([names.index(sources[i]) for i in idx]) if sources is not None else torch.zeros(len(idx), dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-3)
    for step in range(args.steps):
        live, _, kind, pooled = net(x, m, with_kind=True)
        bce = nn.functional.binary_cross_entropy(live.clamp(1e-6, 1 - 1e-6), y, weight=w)
        ce = nn.functional.cross_entropy(kind, k)
        align = cross_source(pooled, y, src, args.align)
        loss = bce + 0.3 * ce + args.align_weight * align
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log is not None and (step % 10 == 0 or step == args.steps - 1):
            log.add(step, bce=bce.item(), kind_ce=ce.item(), **({f"{args.align}": align.item()} if args.align != "none" else {}))
    return net.eval()


def _binom_tail(k, n, p, upper):
    """P(X >= k) (upper) or P(X <= k) for X ~ Binomial(n, p)."""
    terms = range(k, n + 1) if upper else range(0, k + 1)
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in terms)


def _solve(f, target):
    lo, hi = 0.0, 1.0
    for _ in range(80):  # f is monotone in p
        mid = (lo + hi) / 2
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson(k, n, alpha=0.05):
    """Exact (Clopper-Pearson) interval by inverting the binomial tails (no scipy needed)."""
    lo = 0.0 if k == 0 else _solve(lambda p: _binom_tail(k, n, p, True), alpha / 2)
    hi = 1.0 if k == n else _solve(lambda p: -_binom_tail(k, n, p, False), -alpha / 2)
    return [round(lo, 4), round(hi, 4)]


def rates(scores, label):
    kinds = label[:, 1].astype(int)
    bona = scores[kinds == 0]
    out = {"bpcer": {"k": int((bona < 0.5).sum()), "n": int(len(bona))}}
    out["bpcer"]["rate"] = round(out["bpcer"]["k"] / max(1, out["bpcer"]["n"]), 4)
    out["bpcer"]["ci95"] = clopper_pearson(out["bpcer"]["k"], out["bpcer"]["n"])
    worst = 0.0
    for j, name in enumerate(KINDS[1:], start=1):
        s = scores[kinds == j]
        kk = int((s >= 0.5).sum())
        out[name] = {"k": kk, "n": int(len(s)), "apcer": round(kk / max(1, len(s)), 4), "ci95": clopper_pearson(kk, len(s))}
        worst = max(worst, out[name]["apcer"])
    out["acer"] = round((worst + out["bpcer"]["rate"]) / 2, 4)
    return out


def held_out(cues, mask, label, groups, args, sources, scored):
    """Scores of the `scored` items (the clips' first windows) of each held-out group, from a network
    fitted on ALL items (every window) of the other groups."""
    scores = np.full(len(groups), np.nan, dtype=np.float64)
    for g in sorted(set(groups)):
        train = [i for i, x in enumerate(groups) if x != g]
        test = [i for i, x in enumerate(groups) if x == g and scored[i]]
        net = fit(cues, mask, label, train, args, sources=sources)
        with torch.no_grad():
            live, _ = net(torch.tensor(cues[test]), torch.tensor(mask[test]))
        scores[test] = live.numpy()
    return scores


def nested_scores(cues, mask, label, ps, sources, scored, args, t0):
    """Held-out scores only; the threshold rule is applied by the TypeScript bench (one implementation)."""
    def describe(i, score):
        it = ps.items[i]
        return {"file": os.path.basename(it["source"]["path"]), "kind": it["degradation"]["attack"], "source": it["recording"], "score": round(float(score), 4)}

    folds = {}
    for o in sorted(set(sources)):
        rest = [i for i, x in enumerate(sources) if x != o]
        test = [i for i, x in enumerate(sources) if x == o and scored[i]]
        net = fit(cues, mask, label, rest, args, sources=sources)
        with torch.no_grad():
            live, _ = net(torch.tensor(cues[test]), torch.tensor(mask[test]))
        inner = []
        for i_src in sorted(set(sources[i] for i in rest)):
            train = [i for i in rest if sources[i] != i_src]
            itest = [i for i in rest if sources[i] == i_src and scored[i]]
            inet = fit(cues, mask, label, train, args, sources=sources)
            with torch.no_grad():
                ilive, _ = inet(torch.tensor(cues[itest]), torch.tensor(mask[itest]))
            inner += [describe(i, v) for i, v in zip(itest, ilive.numpy())]
        folds[o] = {"outer": [describe(i, v) for i, v in zip(test, live.numpy())], "inner": inner}
        print(f"{o}: outer {len(test)} clips, inner {len(inner)} ({time.time() - t0:.0f} s)", flush=True)
    path = os.path.join(run.REPO, "training", "cache", f"{NAME}-nested.json")
    with open(path, "w") as f:
        json.dump({"command": run.command_line(), "seed": args.seed, "align": args.align, "alignWeight": args.align_weight, "steps": args.steps, "folds": folds}, f)
    print(f"wrote {os.path.relpath(path, run.REPO)} ({time.time() - t0:.0f} s)")


def main():
    p = run.parser(__doc__.splitlines()[0], default_steps=300)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--align", choices=["none", "coral", "pairs"], default="none", help="cross-source term on the bona fide pooled features")
    p.add_argument("--align-weight", type=float, default=1.0)
    p.add_argument("--eval-only", action="store_true", help="held-out figures only: no final fit, no export")
    p.add_argument("--only", choices=["loso", "lopo"], help="one of the two held-out protocols")
    p.add_argument("--nested", action="store_true",
                   help="scores for bench/liveness-windows.ts's nested thresholds: per held-out source its outer scores and the "
                        "inner leave-one-source-out scores of the other sources; writes training/cache/liveness-gru-nested.json, nothing else")
    p.add_argument("--held-out-from", help="an --eval-only JSON of the same settings whose figures (and command) go on the card too")
    args = p.parse_args()
    if args.threads > 1 and "--threads" not in sys.argv:
        args.threads = 1  # shared 2-core machine: one thread unless asked
    run.setup(args)
    data_dir = args.data or os.path.join(run.REPO, "training", "cache", "liveness-seq")
    ps = patchset.PatchSet(data_dir)
    cues = np.array(ps["cues"], dtype=np.float32)
    mask = np.array(ps["mask"], dtype=np.float32)
    label = np.array(ps["label"], dtype=np.float32)
    people = [it["group"] for it in ps.items]
    sources = [it["recording"] for it in ps.items]
    # window caches: score only each clip's first window (what the CLI reads); older sets have one item per clip
    scored = np.array([it.get("window", 0) == 0 for it in ps.items])
    t0 = time.time()
    if args.nested:
        nested_scores(cues, mask, label, ps, sources, scored, args, t0)
        return
    quality = []
    evaluation = {}
    if not args.smoke:
        protocols = (("leave-one-source-out", sources), ("leave-one-person-out", people))
        if args.only:
            protocols = protocols[:1] if args.only == "loso" else protocols[1:]
        for what, groups in protocols:
            s = held_out(cues, mask, label, groups, args, sources, scored)
            r = rates(s[scored], label[scored])
            evaluation[what] = {"rates": r, "scores": [round(float(v), 4) for v in s[scored]], "seconds": round(time.time() - t0, 1)}
            print(what, json.dumps(r))
            split = "cross-source" if what == "leave-one-source-out" else "held-out"
            cmd = run.command_line()
            quality.append({"dataset": f"face-videos/live-real ({len(set(people))} people, {len(set(sources))} sources, {int(scored.sum())} scored clips x kinds, {len(scored)} training items) + simulated attacks", "split": split,
                            "metric": "ACER at 0.5", "value": r["acer"], "note": f"{what}; BPCER {r['bpcer']['rate']}, APCER print/replay/cut-eye {r['print']['apcer']}/{r['replay']['apcer']}/{r['cutEye']['apcer']}", "command": cmd})
    if args.held_out_from:
        with open(args.held_out_from) as f:
            other = json.load(f)
        for what, e in other["evaluation"].items():
            r = e["rates"]
            evaluation[what] = e
            quality.append({"dataset": quality[0]["dataset"] if quality else "face-videos/live-real + simulated attacks", "split": "cross-source" if what == "leave-one-source-out" else "held-out",
                            "metric": "ACER at 0.5", "value": r["acer"], "note": f"{what}; BPCER {r['bpcer']['rate']}, APCER print/replay/cut-eye {r['print']['apcer']}/{r['replay']['apcer']}/{r['cutEye']['apcer']}", "command": other["command"]})
    if args.eval_only:
        name = f"{NAME}-evaluation-{args.align}{'' if args.align == 'none' else args.align_weight}-{args.only or 'both'}.json"
        with open(os.path.join(run.REPO, "training", "cache", name), "w") as f:
            json.dump({"command": run.command_line(), "data": data_dir, "evaluation": evaluation,
                       "items": [{"group": it["group"], "recording": it["recording"], "attack": it["degradation"]["attack"]} for i, it in enumerate(ps.items) if scored[i]]}, f)
        print(f"wrote training/cache/{name} ({time.time() - t0:.0f} s)")
        return
    out = run.out_dir(args, NAME)
    log = run.LossLog(os.path.join(out, "loss.csv"))
    net = fit(cues, mask, label, list(range(len(people))), args, log, sources=sources)
    with torch.no_grad():
        train_scores, _ = net(torch.tensor(cues), torch.tensor(mask))
    tr = rates(train_scores.numpy(), label)
    quality.append({"dataset": "the same clips it was fitted on", "split": "training", "metric": "ACER at 0.5", "value": tr["acer"], "command": run.command_line()})
    wall = time.time() - t0
    log.save(os.path.join(out, "loss.png"), f"{NAME} (all clips)")
    g = torch.Generator().manual_seed(args.seed)
    T = cues.shape[1]
    golden_cues = torch.tensor(cues[:1]) + 0.01 * torch.randn(1, T, len(CUES), generator=g)
    golden_mask = torch.tensor(mask[:1])
    card = {
        "name": NAME, "version": "0.2.0", "task": "liveness", "kind": "tensor",
        "architecture": f"standardise 14 cues (training mean/std, clip +-6) -> GRU({len(CUES)}->{args.hidden}) -> attention over frames (masked softmax) -> sigmoid P(bona fide)",
        "flopsPerMegapixel": 0,
        "io": {"inputs": [{"name": "cues", "shape": [1, "frames", len(CUES)]}, {"name": "mask", "shape": [1, "frames"], "range": [0, 1]}],
               "outputs": [{"name": "live", "shape": [1], "meaning": "P(bona fide)"}, {"name": "attention", "shape": [1, "frames"], "meaning": "weight of each frame"}]},
        "training": {"data": [{"source": f"face-videos/live-real via {ps.manifest['name']}", "count": ps.count, "manifestSha256": ps.manifest_sha256, "role": "bona fide clips and attacks simulated from them"}],
                     "split": "evaluation leave-one-source-out and leave-one-person-out (retrained per held-out group); final fit on all clips",
                     "seed": args.seed, "command": run.command_line(), "steps": args.steps, "wallTimeSeconds": round(wall, 1), "machine": run.machine(), "lossCurve": "loss.png"},
        "quality": quality,
        "paper": "temporal attention over per-frame cues, after CNN-LSTM face anti-spoofing (Xu et al. 2015; Muhammad et al., 'Face anti-spoofing via sample learning based recurrent neural network', 2019)",
        "notes": ["inputs are the hand-crafted cues of src/face/liveness (CUES order), not backbone features",
                  "attacks are simulated (bench/lib/attacks.ts), not recorded",
                  (f"cross-source term: {args.align} on the attention-pooled GRU state of the bona fide clips, weight {args.align_weight} (cross_source() in the trainer)"
                   if args.align != "none" else "no cross-source term"),
                  f"held-out figures score each held-out clip's first window only ({int(scored.sum())} of {len(scored)} items); training uses every window of the other groups"],
    }
    class Exported(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, cues, mask):
            return self.net(cues, mask)

    export.export(Exported(net), out, input_names=["cues", "mask"], output_names=["live", "attention"], golden_inputs=[golden_cues, golden_mask],
                  dynamic_axes={"cues": {1: "frames"}, "mask": {1: "frames"}, "attention": {1: "frames"}}, card=card)
    with open(os.path.join(run.REPO, "training", "cache", f"{NAME}-evaluation.json"), "w") as f:
        json.dump({"evaluation": evaluation, "training": tr, "items": [{"group": it["group"], "recording": it["recording"], "attack": it["degradation"]["attack"]} for it in ps.items]}, f)
    print(f"wrote {out} ({wall:.0f} s)")


if __name__ == "__main__":
    main()

"""What every training script shares: arguments, seeding, threads, a loss log with its plot,
and a wall-clock timer. Keep scripts short: data, network, loss, loop, export."""
import argparse
import csv
import os
import platform
import random
import shlex
import sys
import time

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def parser(description, default_steps):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", help="prepared patch set directory (default: the script's own under training/cache)")
    p.add_argument("--steps", type=int, default=default_steps)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 0))
    p.add_argument("--out", help="model directory (default models/<name>)")
    p.add_argument("--smoke", action="store_true", help="a few steps into a scratch folder: tests the pipeline, not the model")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in training/cache/checkpoints")
    return p


def setup(args):
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    if args.smoke:
        args.steps = min(args.steps, 20)


def command_line():
    script = os.path.relpath(sys.argv[0], REPO)
    return "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in [script, *sys.argv[1:]])


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} CPU, {torch.get_num_threads()} threads"


class LossLog:
    """Appends (step, name=value...) rows to a CSV and renders the curve to PNG (matplotlib, Agg)."""

    def __init__(self, path):
        self.path = path
        self.rows = []
        self.start = time.time()

    def add(self, step, **values):
        self.rows.append({"step": step, "seconds": round(time.time() - self.start, 1), **{k: float(v) for k, v in values.items()}})

    def save(self, png_path, title):
        keys = sorted({k for r in self.rows for k in r} - {"step", "seconds"})
        with open(self.path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["step", "seconds", *keys])
            w.writeheader()
            w.writerows(self.rows)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
        for k in keys:
            pts = [(r["step"], r[k]) for r in self.rows if k in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(png_path)
        plt.close(fig)


def out_dir(args, name):
    if args.out:
        d = args.out
    elif args.smoke:
        d = os.path.join(REPO, "training", "cache", "smoke", name)
    else:
        d = os.path.join(REPO, "models", name)
    os.makedirs(d, exist_ok=True)
    return d


def checkpoint_path(name):
    d = os.path.join(REPO, "training", "cache", "checkpoints")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, f"{name}.pt")

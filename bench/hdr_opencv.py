#!/usr/bin/env python3
"""OpenCV side of bench/hdr.ts (Debian python3-opencv): AlignMTB, CalibrateDebevec, MergeDebevec,
MergeMertens on the brackets a job file lists; writes radiance (.hdr, written by OpenCV) and fused
PNGs, and prints one JSON object of timings (seconds, compute only: image reading excluded).

usage: /usr/bin/python3 bench/hdr_opencv.py job.json
job: {"tasks": [{"name", "images": [...], "times": [...], "align": bool, "mertens": bool,
                 "out_hdr": path|null, "out_fused": path|null, "repeat": n}]}
"""
import json
import sys
import time

import cv2
import numpy as np


def run_task(task):
    images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in task["images"]]
    for p, im in zip(task["images"], images):
        if im is None:
            raise SystemExit(f"cannot read {p}")
    times = np.array(task["times"], dtype=np.float32)
    repeat = int(task.get("repeat", 1))
    out = {"name": task["name"], "align": [], "calibrate": [], "merge": [], "mertens": [], "cpu": [], "shifts": None}
    for _ in range(repeat):
        frames = [im.copy() for im in images]
        c0 = time.process_time()
        if task.get("align"):
            t0 = time.perf_counter()
            aligned = [f.copy() for f in frames]
            cv2.createAlignMTB().process(frames, aligned)
            out["align"].append(time.perf_counter() - t0)
            originals = frames
            frames = aligned
        t0 = time.perf_counter()
        response = cv2.createCalibrateDebevec().process(frames, times)
        out["calibrate"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        hdr = cv2.createMergeDebevec().process(frames, times, response)
        out["merge"].append(time.perf_counter() - t0)
        # CPU seconds of align + calibrate + merge, all threads (shifts excluded below).
        out["cpu"].append(time.process_time() - c0)
        if task.get("align") and out["shifts"] is None:
            grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in originals]
            ref = len(grey) // 2
            out["shifts"] = [list(map(int, cv2.createAlignMTB().calculateShift(grey[ref], g))) for g in grey]
        if task.get("mertens"):
            t0 = time.perf_counter()
            fused = cv2.createMergeMertens().process(frames)
            out["mertens"].append(time.perf_counter() - t0)
    if task.get("out_hdr"):
        cv2.imwrite(task["out_hdr"], hdr)
    if task.get("mertens") and task.get("out_fused"):
        cv2.imwrite(task["out_fused"], np.clip(fused * 255 + 0.5, 0, 255).astype(np.uint8))
    return out


def main():
    job = json.load(open(sys.argv[1]))
    results = [run_task(t) for t in job["tasks"]]
    print(json.dumps({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "results": results}))


if __name__ == "__main__":
    main()

"""Class priors (per-class logit offsets) for the recogniser, chosen on validation SOURCES.

    /usr/bin/python3 training/recognizer_priors.py DIR   (DIR holds <source>.json from
    `training/recognizer.py --exclude <source> --predict-excluded DIR/<source>.json`, one per source)

Each file holds the scores that a network trained WITHOUT that source gives its real items. Pooled,
they stand in for photos from an unseen source. The offsets are chosen by the same procedure as the
frozen-backbone head's (training/recognizer_backbone.py): balanced accuracy over rain, haze,
lowlight, clean (primary = top adjusted score >= 0.5, JPEG left to its own head, else clean),
coordinate ascent over rain, haze, lowlight, noise, blur on a grid -3..3 step 0.25, three rounds,
ties to the smaller offset. Prints the offsets as a JSON line and the validation confusion before/after.
"""
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recognizer_backbone import CLASSES, balanced, confusion, fit_offsets, true_class  # noqa: E402


def main():
    d = sys.argv[1]
    logits, truth, per_source = [], [], {}
    for f in sorted(glob.glob(os.path.join(d, "*.json"))):
        data = json.load(open(f))
        for it in data["items"]:
            p = np.clip(np.array(it["scores"], dtype=np.float64), 1e-6, 1 - 1e-6)
            logits.append(np.log(p / (1 - p)))
            truth.append(true_class(it["labels"]))
        per_source[data["excluded"]] = len(data["items"])
    logits = np.array(logits)
    zero = np.zeros(len(CLASSES))
    offsets = fit_offsets(logits, truth, dtype=zero.dtype)
    print(f"sources {per_source}")
    print(f"LOSO balanced accuracy {balanced(logits, truth, zero):.3f} -> {balanced(logits, truth, offsets):.3f}")
    print(f"confusion before {confusion(logits, truth, zero)}")
    print(f"confusion after  {confusion(logits, truth, offsets)}")
    print(json.dumps({"classes": CLASSES, "offsets": offsets.tolist(), "sources": per_source}))


if __name__ == "__main__":
    main()

"""Reader for the patch sets written by training/prepare/patchset.ts.

Layout of a set directory:
  manifest.json   {"format": "clearsight-patchset/1", "name", "command", "seed", "count",
                   "arrays": {name: {"file", "dtype", "shape"}}, "items": [...], "sources": [...]}
  <array>.bin     raw little-endian arrays, first axis = item index

Arrays are memory-mapped: a set larger than memory still trains.
"""
import hashlib
import json
import os

import numpy as np

FORMAT = "clearsight-patchset/1"
DTYPES = {"uint8": np.uint8, "float32": np.float32}


class PatchSet:
    def __init__(self, directory):
        self.dir = directory
        path = os.path.join(directory, "manifest.json")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} does not exist: prepare the set first (see training/README.md)")
        raw = open(path, "rb").read()
        self.manifest_sha256 = hashlib.sha256(raw).hexdigest()
        self.manifest = json.loads(raw)
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{path}: format {self.manifest.get('format')!r}, expected {FORMAT!r}")
        self.count = int(self.manifest["count"])
        self.items = self.manifest["items"]
        self.arrays = {}
        for name, spec in self.manifest["arrays"].items():
            dtype = DTYPES[spec["dtype"]]
            shape = tuple(spec["shape"])
            file = os.path.join(directory, spec["file"])
            expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
            actual = os.path.getsize(file)
            if actual != expected:
                raise ValueError(f"{file}: {actual} bytes, manifest says {shape} {spec['dtype']} = {expected}")
            self.arrays[name] = np.memmap(file, dtype=dtype, mode="r", shape=shape)

    def __getitem__(self, name):
        return self.arrays[name]

    def indices(self, **where):
        """Item indices whose manifest fields equal the given values, e.g. indices(split="train")."""
        return [i for i, item in enumerate(self.items) if all(item.get(k) == v for k, v in where.items())]

    def sources(self):
        """Per-source item counts, for the model card."""
        counts = {}
        for item in self.items:
            key = item.get("group", "unknown")
            counts[key] = counts.get(key, 0) + 1
        return counts

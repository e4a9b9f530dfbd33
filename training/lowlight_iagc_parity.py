"""TS library pipeline vs the PyTorch pipeline on held-out test item 0: writes the PyTorch outputs that
bench/lowlight-iagc-parity.ts compares with enhanceLowLightIagc (run this first, from the repository root;
needs training/cache/lowlight-iagc-test and the checkpoint of the last training run)."""
import sys, os, numpy as np, torch
sys.path.insert(0, "training")
import lowlight_iagc as m
from cstrain.patchset import PatchSet
torch.set_num_threads(1)
ps = PatchSet("training/cache/lowlight-iagc-test")
model = m.Pipeline()
model.load_state_dict(torch.load("training/cache/checkpoints/lowlight-iagc.pt")["model"])
model.eval()
low, high, L = m.batch(ps, [0], m._NoFlip())
with torch.no_grad():
    out, y = model(low, L, m.thumb_factor(*low.shape[-2:]))
out.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4").tofile("/tmp/iagc_torch_out.bin")
y.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4").tofile("/tmp/iagc_torch_y.bin")
print("torch psnr", m.psnr(out, high), m.psnr(y, high))

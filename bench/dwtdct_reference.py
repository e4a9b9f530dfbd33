#!/usr/bin/env python3
"""Reference watermark for bench/watermark.ts: the DWT-DCT method of the invisible-watermark
package (ShieldMnt/invisible-watermark, method "dwtDct", the one Stable Diffusion ships),
re-implemented here from its description and behaviour (not its code) with Debian's
python3-opencv, python3-numpy and python3-pywt.

The method, as the reference runs it with its defaults (scales [0, 36, 36], block 4):
- BGR -> YUV (OpenCV). Only channel 1 (U) is marked: the reference loops over channels 0..1 and
  channel 0 has scale 0.
- One level of the Haar DWT of the channel (cropped to a multiple of 4); the approximation band
  is cut into 4x4 blocks, block k carries bit k mod n (the payload repeats over the picture).
- In each block the largest-magnitude coefficient other than the first is quantised:
  |v| -> (floor(|v| / 36) + 0.25 + 0.5 bit) * 36, sign kept (quantisation index modulation).
- Inverse DWT with the horizontal and vertical detail bands passed in swapped order (as the
  reference does), stored back into the uint8 YUV image by truncation, YUV -> BGR.
- Decoding: the same block walk; a block votes 1 when (|v| mod 36) > 18; a bit is 1 when the
  mean vote exceeds 127/255.
There is no synchronisation: any resize or crop moves the block grid.

Batch protocol: one JSON object per line on stdin,
  {"op": "embed", "input": path, "output": path, "bits": "0101..."}
  {"op": "decode", "input": path, "n": 128}
and one JSON object per line on stdout: {"ok": true, "bits": "...", "ms": float} or {"ok": false, "error": "..."}.
"""
import json
import sys
import time

import cv2
import numpy as np
import pywt

SCALE = 36.0
BLOCK = 4


def _as_blocks(approx):
    """(rows/4 * cols/4, 16) view of the 4x4 blocks in row-major block order, and its shape."""
    rb, cb = approx.shape[0] // BLOCK, approx.shape[1] // BLOCK
    view = approx[:rb * BLOCK, :cb * BLOCK].reshape(rb, BLOCK, cb, BLOCK).transpose(0, 2, 1, 3).reshape(rb * cb, BLOCK * BLOCK)
    return view.copy(), (rb, cb)


def _from_blocks(approx, blocks, shape):
    rb, cb = shape
    approx[:rb * BLOCK, :cb * BLOCK] = blocks.reshape(rb, cb, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(rb * BLOCK, cb * BLOCK)


def _largest_non_first(blocks):
    """Index (0..15) of the largest-magnitude coefficient other than the first, per block."""
    return np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1


def embed(bgr, bits):
    rows, cols = bgr.shape[:2]
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    plane = yuv[:r4, :c4, 1].astype(np.float64)
    approx, (horiz, vert, diag) = pywt.dwt2(plane, 'haar')
    blocks, shape = _as_blocks(approx)
    pos = _largest_non_first(blocks)
    idx = np.arange(len(blocks))
    wm = np.asarray(bits, dtype=np.float64)[idx % len(bits)]
    v = blocks[idx, pos]
    q = (np.floor(np.abs(v) / SCALE) + 0.25 + 0.5 * wm) * SCALE
    blocks[idx, pos] = np.where(v >= 0, q, -q)
    _from_blocks(approx, blocks, shape)
    restored = pywt.idwt2((approx, (vert, horiz, diag)), 'haar')
    # numpy assignment into uint8 truncates (and wraps out-of-range values) like the reference.
    yuv[:r4, :c4, 1] = restored.astype(np.int64).astype(np.uint8)
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)


def decode(bgr, n):
    rows, cols = bgr.shape[:2]
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    approx, _ = pywt.dwt2(yuv[:r4, :c4, 1].astype(np.float64), 'haar')
    blocks, _ = _as_blocks(approx)
    pos = _largest_non_first(blocks)
    idx = np.arange(len(blocks))
    votes = ((np.abs(blocks[idx, pos]) % SCALE) > 0.5 * SCALE).astype(np.float64)
    bits = []
    for b in range(n):
        v = votes[b::n]
        bits.append(1 if len(v) and v.mean() * 255 > 127 else 0)
    return bits


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        t0 = time.perf_counter()
        try:
            job = json.loads(line)
            img = cv2.imread(job['input'], cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError('cannot read ' + job['input'])
            if job['op'] == 'embed':
                bits = [int(c) for c in job['bits']]
                out = embed(img, bits)
                if not cv2.imwrite(job['output'], out):
                    raise ValueError('cannot write ' + job['output'])
                result = {'ok': True}
            else:
                result = {'ok': True, 'bits': ''.join(str(b) for b in decode(img, int(job['n'])))}
            result['ms'] = (time.perf_counter() - t0) * 1000
        except Exception as e:  # report and go on with the batch
            result = {'ok': False, 'error': str(e)}
        sys.stdout.write(json.dumps(result) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()

/**
 * Parity of the ncnn -> ONNX converter against an independent numpy reading of the same weights
 * (bench/ncnn_reference.py: its own .param/.bin parser and ncnn's layer arithmetic, bicubic edge
 * handling included). Development check: needs /usr/bin/python3 with numpy.
 *
 *   node --import tsx bench/ncnn-parity.ts <model.param> [more.param ...]   (the .bin beside each)
 *
 * For each model: converts it, runs onnxruntime (1 thread) on a fixed 3x20x28 pattern and prints
 * the reference's largest absolute difference (target <= 1e-3, in the model's [0, 1] range).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertNcnnToOnnx } from '../src/core/models/ncnn/toOnnx.js';
import { InferenceSession } from '../src/core/runtime/index.js';

const C = 3;
const H = 20;
const W = 28;
const reference = fileURLToPath(new URL('./ncnn_reference.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ncnn-parity-'));
let failed = false;
try {
  for (const param of process.argv.slice(2)) {
    const bin = param.replace(/\.param$/, '.bin');
    const conv = convertNcnnToOnnx(readFileSync(param, 'utf8'), readFileSync(bin), param);
    const x = new Float32Array(C * H * W);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let i = 0; i < W; i++) x[(c * H + y) * W + i] = 0.5 + 0.45 * Math.sin(0.7 * i + 1.3 * y + 2 * c) * Math.cos(0.23 * i * y);
    const session = await InferenceSession.create(conv.onnx, { threads: 1 });
    const out = await session.run(x, [1, C, H, W]);
    await session.dispose();
    writeFileSync(join(dir, 'x.f32'), Buffer.from(x.buffer));
    writeFileSync(join(dir, 'y.f32'), Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    const [, oc, oh, ow] = out.shape;
    let line: string;
    try {
      line = execFileSync(
        '/usr/bin/python3',
        [reference, param, bin, join(dir, 'x.f32'), `${C}`, `${H}`, `${W}`, join(dir, 'y.f32'), `${oc}`, `${oh}`, `${ow}`],
        { encoding: 'utf8' },
      ).trim();
    } catch (err) {
      failed = true;
      line = `FAILED ${((err as { stdout?: string }).stdout ?? '').trim() || (err as Error).message}`;
    }
    console.log(`${param}: scale ${conv.scale}, ${conv.layerCount} layers -> ${oc}x${oh}x${ow}: ${line}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

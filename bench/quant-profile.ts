/**
 * Where MAXIM deraining spends its time, fp32 against int8: onnxruntime's profiler on one run of
 * a `--side` square of flat grey, one thread; kernel time summed per operator type.
 *
 *   node --import tsx bench/quant-profile.ts [--side 128] [--ops MatMul,Conv]
 *
 * Prints the table (the reason int8 MAXIM is far from 1.8x: docs/performance.md); writes nothing
 * beyond onnxruntime's profile files in a temp folder, removed at the end.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { ImageModel } from '../src/core/models/imageModel.js';
import { quantizeDynamicInt8, type QuantizableOp } from '../src/core/models/quantize.js';
import { table } from './lib/common.js';

const { values: args } = parseArgs({ options: { side: { type: 'string', default: '128' }, ops: { type: 'string', default: 'MatMul,Conv' } } });
const side = Number(args.side);
const dir = mkdtempSync(path.join(tmpdir(), 'clearsight-profile-'));

async function profile(label: string, onnx: Uint8Array): Promise<Map<string, number>> {
  const prefix = path.join(dir, label);
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableMemPattern: false,
    enableCpuMemArena: false,
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(side * side * 3).fill(0.5), [1, side, side, 3]) });
  await session.release(); // writes the profile
  const file = readdirSync(dir).find((n) => n.startsWith(label) && n.endsWith('.json'))!;
  const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Array<{ cat: string; name: string; dur: number; args: { op_name?: string } }>;
  const byOp = new Map<string, number>();
  for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args.op_name!, (byOp.get(e.args.op_name!) ?? 0) + e.dur / 1000);
  return byOp;
}

try {
  const model = await ImageModel.load('maxim-deraining', { threads: 1 });
  const fp32 = await model.onnxFor([1, side, side, 3]);
  await model.dispose();
  const a = await profile('fp32', fp32);
  const b = await profile('int8', quantizeDynamicInt8(fp32, { ops: args.ops!.split(',') as QuantizableOp[] }).onnx);
  const total = (m: Map<string, number>) => [...m.values()].reduce((s, v) => s + v, 0);
  const ops = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (b.get(y) ?? 0) + (a.get(y) ?? 0) - (b.get(x) ?? 0) - (a.get(x) ?? 0));
  const cell = (m: Map<string, number>, op: string) => (m.has(op) ? `${m.get(op)!.toFixed(0)} (${((100 * m.get(op)!) / total(m)).toFixed(1)}%)` : '-');
  console.log(
    `MAXIM deraining ${side}x${side}, one thread, kernel ms (share)\n` +
      table(
        ['operator', 'fp32', `int8 ${args.ops}`],
        [...ops.map((op) => [op, cell(a, op), cell(b, op)]), ['total', total(a).toFixed(0), total(b).toFixed(0)]],
      ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

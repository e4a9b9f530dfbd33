/**
 * Frozen-backbone features of the recogniser's training sets (src/restore/auto/analyzeBackbone.ts), for
 * training/recognizer_backbone.py.
 *
 *   node --import tsx training/recognizer-backbone-features.ts [--sets recognizer,recognizer-portraits]
 *
 * Reads the patch sets of training/prepare/recognizer.ts (training/cache/<set>: the S1 TRAINING
 * sources only, views already made by recognizerViews) and writes training/cache/backbone/<set>/:
 * features.bin (float32, items x BACKBONE_DIM), labels.bin and mask.bin (float32, items x 6) and
 * items.json (group, split, real, per item).
 */
import { mkdirSync, openSync, readFileSync, readSync, writeFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createImage, type RawImage } from '../src/core/image/types.js';
import { RECOGNIZER_CROPS, RECOGNIZER_VIEWS } from '../src/restore/auto/recognizer.js';
import { BACKBONE_DIM, BackboneFeatures } from '../src/restore/auto/analyzeBackbone.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { sets: { type: 'string', default: 'recognizer,recognizer-portraits' } } });

interface Manifest {
  count: number;
  items: Array<{ group: string; split: string; real?: boolean }>;
}

function readChunk(fd: number, bytes: number, index: number): Uint8Array {
  const buf = new Uint8Array(bytes);
  readSync(fd, buf, 0, bytes, index * bytes);
  return buf;
}

function toImage(bytes: Uint8Array, size: number): RawImage {
  const img = createImage(size, size, 3);
  for (let i = 0; i < bytes.length; i++) img.data[i] = bytes[i] / 255;
  return img;
}

async function main(): Promise<void> {
  const { globalSize: G, cropSize: S } = RECOGNIZER_VIEWS;
  const bb = await BackboneFeatures.load();
  for (const set of args.sets!.split(',')) {
    const dir = path.join(REPO, 'training/cache', set);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const out = path.join(REPO, 'training/cache/backbone', set);
    mkdirSync(out, { recursive: true });
    const feats = new Float32Array(manifest.count * BACKBONE_DIM);
    const gfd = openSync(path.join(dir, 'global.bin'), 'r');
    const cfd = openSync(path.join(dir, 'crops.bin'), 'r');
    const t0 = performance.now();
    for (let i = 0; i < manifest.count; i++) {
      const global = toImage(readChunk(gfd, G * G * 3, i), G);
      const cb = readChunk(cfd, RECOGNIZER_CROPS * S * S * 3, i);
      const crops = Array.from({ length: RECOGNIZER_CROPS }, (_, k) => toImage(cb.subarray(k * S * S * 3, (k + 1) * S * S * 3), S));
      feats.set(await bb.ofViews({ global, crops }), i * BACKBONE_DIM);
      if (i % 500 === 0) process.stderr.write(`${set}: ${i}/${manifest.count}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
    closeSync(gfd);
    closeSync(cfd);
    writeFileSync(path.join(out, 'features.bin'), new Uint8Array(feats.buffer));
    for (const name of ['labels', 'mask']) writeFileSync(path.join(out, `${name}.bin`), readFileSync(path.join(dir, `${name}.bin`)));
    writeFileSync(
      path.join(out, 'items.json'),
      JSON.stringify({ dim: BACKBONE_DIM, items: manifest.items.map((it) => ({ group: it.group, split: it.split, real: it.real ?? false })) }),
    );
    process.stderr.write(`${set}: ${manifest.count} items -> ${out}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  await bb.dispose();
}

await main();

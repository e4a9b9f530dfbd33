/**
 * Prepares the sequence set for the temporal liveness model (training/liveness_gru.py): per clip,
 * the per-frame cue matrix (the library's CUES, computed by computeCues on the tracked face) as a
 * [T, cues] float32 array with a [T] validity mask, the label (1 = bona fide) and the attack kind.
 *
 *   node --import tsx training/prepare/liveness-seq.ts [--from bench/results/liveness-people-cues.bin] [--frames 45]
 *   node --import tsx training/prepare/liveness-seq.ts --from bench/results/liveness-windows.bin,bench/results/liveness-windows-rev.bin \
 *       --frames 150 --out training/cache/liveness-seq-windows
 *
 * --from takes a comma-separated list of caches (the 5 s window caches of bench/liveness-windows.ts
 * are written by two processes); a sample's `window` (0 = the clip's first 5 s, what the CLI reads;
 * 1 = the window at its end) is kept per item so the trainer scores held-out clips on window 0 only.
 *
 * Input: the tracked clips that `node --import tsx bench/liveness-people.ts` caches (bona fide
 * clips of 21 people from face-videos/live-real, and print / screen replay / cut-eye attacks
 * simulated from each). Group = person (splits must respect it); the source (recording chain) is
 * kept per item for leave-source-out evaluation. Frames beyond --frames are dropped, shorter clips
 * are padded with mask 0. Non-finite cue values (a frame without a face) are written as 0 with
 * mask 0 for the frame when the face was lost.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deserialize } from 'node:v8';
import { CUES } from '../../src/face/liveness/index.js';
import { PatchSetWriter, sha256File } from './patchset.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: path.join(REPO, 'bench/results/liveness-people-cues.bin') },
    data: { type: 'string', default: path.resolve(REPO, '../shared/data/face-videos/live-real') },
    frames: { type: 'string', default: '45' },
    out: { type: 'string', default: path.join(REPO, 'training/cache/liveness-seq') },
  },
});

interface Sample {
  file: string;
  person: string;
  source: string;
  kind: string;
  values: number[][];
  fps: number;
  tracked: number;
  frames: number;
  window?: number;
}

const KIND_INDEX: Record<string, number> = { bonafide: 0, print: 1, replay: 2, cutEye: 3 };
const T = Number(args.frames);
const samples = args
  .from!.split(',')
  .flatMap((f) => deserialize(readFileSync(path.resolve(f))) as Sample[])
  // the two window caches may hold the same clip (each process resumes from its own end)
  .filter((s, i, all) => all.findIndex((o) => o.file === s.file && o.kind === s.kind && o.window === s.window) === i);
const writer = new PatchSetWriter(args.out!, {
  name: 'liveness-seq',
  command: `node --import tsx training/prepare/liveness-seq.ts ${process.argv.slice(2).join(' ')}`.trim(),
  seed: 0,
  arrays: { cues: { shape: [T, CUES.length], dtype: 'float32' }, mask: { shape: [T], dtype: 'float32' }, label: { shape: [2], dtype: 'float32' } },
  notes: `cues in CUES order (${CUES.join(', ')}); label = [bona fide (1/0), attack kind (0 bona fide, 1 print, 2 replay, 3 cut-eye)]; from ${args
    .from!.split(',')
    .map((f) => path.relative(REPO, path.resolve(f)))
    .join(', ')}`,
});
for (const s of samples) {
  const cues = new Float32Array(T * CUES.length);
  const mask = new Float32Array(T);
  for (let t = 0; t < Math.min(T, s.values.length); t++) {
    const row = s.values[t]!;
    if (!row.some((v) => Number.isFinite(v))) continue; // no face in this frame
    mask[t] = 1;
    row.forEach((v, j) => {
      cues[t * CUES.length + j] = Number.isFinite(v) ? v : 0;
    });
  }
  const file = path.join(args.data!, s.file);
  writer.add(
    { cues, mask, label: Float32Array.from([s.kind === 'bonafide' ? 1 : 0, KIND_INDEX[s.kind] ?? -1]) },
    {
      group: s.person,
      split: 'train',
      source: { path: path.relative(REPO, file), sha256: sha256File(file) },
      degradation: { attack: s.kind, simulated: s.kind !== 'bonafide' },
      recording: s.source,
      fps: s.fps,
      tracked: s.tracked,
      frames: s.frames,
      window: s.window ?? 0,
    },
  );
}
const sha = writer.close();
console.log(`wrote ${args.out} (${writer.count} clips, manifest sha256 ${sha})`);

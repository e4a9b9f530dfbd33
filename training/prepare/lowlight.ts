/**
 * Prepares the low-light student's patch sets (training/lowlight_iagc.py reads them):
 *
 *   node --import tsx training/prepare/lowlight.ts [--data ../shared/data] [--out training/cache]
 *        [--draws 5] [--crops 5] [--seed 1] [--spatial 0.5] [--smoke]
 *
 * Data root: --data, default ../shared/data beside the checkout.
 *
 * lowlight-iagc/       train (Kodak24 + CBSD68) and val (Set14) items: a PATCH x PATCH crop of a
 *                      photo darkened by synthesizeLowLight with parameters drawn per (photo, draw)
 *                      (a share --spatial of the draws with an exposure field and light sources,
 *                      sampleSpatialLowLight, drawn over the WHOLE photo before cropping),
 *                      `low` and `high` (uint8 RGB) and `illum`, the library's illumination map
 *                      (estimateIllumination, default radius) of the WHOLE darkened photo, cropped:
 *                      the same map the library computes at inference.
 * lowlight-iagc-test/  the held-out McMaster pairs (heldOutPairs: seeded, centre crops), whole: the
 *                      uniform pairs, then the spatial ones (item `degradationKind`).
 * Split by source (lowlightPairs.ts), never by patch.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeImage } from '../../src/core/image/io.js';
import { cropImage } from '../../src/core/image/geometry.js';
import { mulberry32 } from '../../src/core/random.js';
import { estimateIllumination } from '../../src/restore/lowlight/gamma.js';
import { sampleLowLightParams, sampleSpatialLowLight, synthesizeLowLight } from '../../src/restore/lowlight/synthesize.js';
import { PatchSetWriter, sha256File } from './patchset.js';
import { defaultDataRoot, HELD_OUT_SIDE, heldOutPairs, listPhotos, LOWLIGHT_SPLITS, quantize8, SPATIAL_SHARE } from './lowlightPairs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PATCH = 192;

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: defaultDataRoot() },
    out: { type: 'string', default: path.join(REPO, 'training/cache') },
    draws: { type: 'string', default: '5' },
    crops: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    spatial: { type: 'string', default: String(SPATIAL_SHARE) },
    smoke: { type: 'boolean', default: false },
  },
});
const dataRoot = path.resolve(args.data!);
const seed = Number(args.seed);
const spatialShare = Number(args.spatial);
if (!(spatialShare >= 0 && spatialShare <= 1)) throw new Error(`--spatial: a share in [0, 1], got ${args.spatial}`);
const draws = args.smoke ? 1 : Number(args.draws);
const crops = args.smoke ? 1 : Number(args.crops);
const perSourceLimit = args.smoke ? 3 : Infinity;
const outRoot = args.smoke ? path.join(args.out!, 'smoke') : args.out!;
const command = `node --import tsx training/prepare/lowlight.ts ${process.argv.slice(2).join(' ')}`.trim();

async function main(): Promise<void> {
  const rand = mulberry32(seed);
  const train = new PatchSetWriter(path.join(outRoot, 'lowlight-iagc'), {
    name: 'lowlight-iagc',
    command,
    seed,
    arrays: {
      low: { shape: [PATCH, PATCH, 3], dtype: 'uint8' },
      high: { shape: [PATCH, PATCH, 3], dtype: 'uint8' },
      illum: { shape: [PATCH, PATCH, 1], dtype: 'float32' },
    },
    notes: `synthesizeLowLight over clean photos (${Math.round(spatialShare * 100)} % of the draws with an exposure field and light sources); train ${LOWLIGHT_SPLITS.train.join('+')}, val ${LOWLIGHT_SPLITS.val.join('+')}; ${draws} draws x ${crops} crops of ${PATCH}px per photo`,
  });
  for (const split of ['train', 'val'] as const) {
    for (const source of LOWLIGHT_SPLITS[split]) {
      for (const file of listPhotos(dataRoot, source).slice(0, perSourceLimit)) {
        const clean = quantize8((await decodeImage(file)).image);
        for (let d = 0; d < draws; d++) {
          const base = sampleLowLightParams(rand);
          // share 0 draws nothing extra, so `--spatial 0` rebuilds the uniform-only set of lowlight-iagc 1.0.0
          const params = spatialShare > 0 && rand() < spatialShare ? sampleSpatialLowLight(base, rand) : base;
          const low = quantize8(synthesizeLowLight(clean, params));
          const L = estimateIllumination(low);
          for (let k = 0; k < crops; k++) {
            const x = Math.floor(rand() * (clean.width - PATCH + 1));
            const y = Math.floor(rand() * (clean.height - PATCH + 1));
            const illum = new Float32Array(PATCH * PATCH);
            for (let r = 0; r < PATCH; r++) illum.set(L.subarray((y + r) * clean.width + x, (y + r) * clean.width + x + PATCH), r * PATCH);
            train.add(
              { low: cropImage(low, x, y, PATCH, PATCH), high: cropImage(clean, x, y, PATCH, PATCH), illum },
              {
                group: source,
                split,
                source: { path: path.relative(dataRoot, file), sha256: sha256File(file) },
                crop: [x, y, PATCH, PATCH],
                degradation: { ...params },
              },
            );
          }
        }
      }
    }
  }
  const trainCount = train.count;
  const trainSha = train.close();

  const kinds = ['uniform', 'spatial'] as const;
  const pairs = (await Promise.all(kinds.map((k) => heldOutPairs(dataRoot, args.smoke ? 2 : Infinity, k)))).flatMap((set, i) =>
    set.map((p) => ({ ...p, kind: kinds[i] })),
  );
  const side = Math.min(...pairs.map((p) => p.clean.width));
  if (side !== HELD_OUT_SIDE) throw new Error(`held-out crops are ${side}px, expected ${HELD_OUT_SIDE}`);
  const test = new PatchSetWriter(path.join(outRoot, 'lowlight-iagc-test'), {
    name: 'lowlight-iagc-test',
    command,
    seed,
    arrays: {
      low: { shape: [side, side, 3], dtype: 'uint8' },
      high: { shape: [side, side, 3], dtype: 'uint8' },
      illum: { shape: [side, side, 1], dtype: 'float32' },
    },
    notes: `held-out source ${LOWLIGHT_SPLITS.test.join('+')}: centre ${side}px crops, synthesizeLowLight with seeded parameters (heldOutPairs), the uniform pairs then the spatial ones`,
  });
  for (const p of pairs) {
    test.add(
      { low: p.low, high: p.clean, illum: estimateIllumination(p.low) },
      {
        group: p.name.split('/')[0],
        split: 'test',
        source: { path: path.relative(dataRoot, p.file), sha256: p.sha256 },
        crop: p.crop,
        degradation: { ...p.params },
        degradationKind: p.kind,
      },
    );
  }
  const testSha = test.close();
  console.log(`lowlight-iagc: ${trainCount} patches, manifest sha256 ${trainSha}`);
  console.log(`lowlight-iagc-test: ${pairs.length} pairs, manifest sha256 ${testSha}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

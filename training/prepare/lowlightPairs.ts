/**
 * The low-light student's data, defined once for the prepare script (training/prepare/lowlight.ts)
 * and the benchmark (bench/students/lowlight-iagc.ts).
 *
 * No paired low/normal-light photos exist in ../shared/data (lowlight/ holds LOL eval15 LOW images
 * only, DICM and LIME are unpaired; real-degraded/lowlight_real likewise), so pairs are made by
 * darkening clean photos with the library's synthesizeLowLight. Split by SOURCE:
 *   train: Kodak24 + CBSD68;  val: Set14 (monitored while training);  test: McMaster (never trained
 *   on, never looked at while tuning): the cross-source figure.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../../src/core/image/io.js';
import { cropImage } from '../../src/core/image/geometry.js';
import type { RawImage } from '../../src/core/image/types.js';
import { mulberry32 } from '../../src/core/random.js';
import { sampleLowLightParams, sampleSpatialLowLight, synthesizeLowLight, type LowLightParams } from '../../src/restore/lowlight/synthesize.js';
import { sha256File } from './patchset.js';

export const LOWLIGHT_SPLITS = { train: ['Kodak24', 'CBSD68'], val: ['Set14'], test: ['McMaster'] } as const;
/** Side of the held-out evaluation crops (centre crops: MAXIM takes ~70-116 s/MP, so keep them small). */
export const HELD_OUT_SIDE = 384;
/** Seed of the held-out degradations (fixed: every run evaluates the same pairs). */
export const HELD_OUT_SEED = 20261207;
/** Seed of the spatial part of the 'spatial' held-out pairs (a stream of its own, so their base parameters are the uniform pairs'). */
export const HELD_OUT_SPATIAL_SEED = 20261208;
/**
 * Which synthetic degradation a held-out set uses: 'uniform' (the whole photo darkened alike: the
 * first model's training and evaluation degradation, pairs unchanged since) or 'spatial' (the same
 * base parameters plus an exposure field and light sources, sampleSpatialLowLight).
 */
export type HeldOutDegradation = 'uniform' | 'spatial';
/** Share of training draws that get a spatial part (the rest stay uniform). */
export const SPATIAL_SHARE = 0.5;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/data beside the checkout (or beside the folder of worktrees, /work/wt/<branch>). */
export function defaultDataRoot(): string {
  const candidates = [path.resolve(REPO, '../shared/data'), path.resolve(REPO, '../../shared/data')];
  return candidates.find((c) => existsSync(path.join(c, 'clean-photos'))) ?? candidates[0];
}

export function listPhotos(dataRoot: string, source: string): string[] {
  const dir = path.join(dataRoot, 'clean-photos', source);
  return readdirSync(dir)
    .filter((f) => /\.(png|jpe?g|tif|bmp)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Rounds to 8-bit levels (what a photo file carries), so training and inference see the same quantisation. */
export function quantize8(img: RawImage): RawImage {
  const data = Float32Array.from(img.data, (v) => Math.round(Math.max(0, Math.min(1, v)) * 255) / 255);
  return { ...img, data };
}

export interface LowLightPair {
  readonly name: string;
  readonly file: string;
  readonly sha256: string;
  readonly crop: readonly [number, number, number, number];
  readonly params: LowLightParams;
  readonly clean: RawImage;
  /** The darkened picture, quantised to 8 bits. */
  readonly low: RawImage;
}

/** The held-out pairs: a centre crop (HELD_OUT_SIDE, or the shorter side) of every test-source photo, darkened with seeded parameters. */
export async function heldOutPairs(dataRoot: string, limit = Infinity, degradation: HeldOutDegradation = 'uniform'): Promise<LowLightPair[]> {
  const rand = mulberry32(HELD_OUT_SEED);
  const spatialRand = mulberry32(HELD_OUT_SPATIAL_SEED);
  const pairs: LowLightPair[] = [];
  for (const source of LOWLIGHT_SPLITS.test) {
    for (const file of listPhotos(dataRoot, source)) {
      if (pairs.length >= limit) break;
      const full = (await decodeImage(file)).image;
      const side = Math.min(HELD_OUT_SIDE, full.width, full.height);
      const x = Math.floor((full.width - side) / 2);
      const y = Math.floor((full.height - side) / 2);
      const clean = quantize8(cropImage(full, x, y, side, side));
      const base = sampleLowLightParams(rand);
      const params = degradation === 'spatial' ? sampleSpatialLowLight(base, spatialRand) : base;
      pairs.push({
        name: `${source}/${path.basename(file)}`,
        file,
        sha256: sha256File(file),
        crop: [x, y, side, side],
        params,
        clean,
        low: quantize8(synthesizeLowLight(clean, params)),
      });
    }
  }
  return pairs;
}

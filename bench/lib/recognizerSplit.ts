/**
 * The cross-source split "S1" of the degradation recogniser: which labelled sources it was
 * trained on (training/prepare/recognizer.ts reads TRAIN_SOURCES' folders) and which it is tested
 * on (never seen in training or calibration). Also a perceptual hash (dHash) to drop test images
 * that duplicate a training image or an earlier test image (SOURCE.md files warn of shared photos).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { resizeArea } from '../../src/core/image/geometry.js';
import { toRgb, type RawImage } from '../../src/core/image/types.js';

export type SplitLabel = 'rain' | 'haze' | 'lowlight' | 'clean';

export interface LabelledSource {
  /** Report group (a source name). */
  group: string;
  label: SplitLabel;
  dir: string;
  filter?: (name: string) => boolean;
  /** Raindrops on glass are not rain streaks: reported on their own row, outside the headline. */
  outOfScope?: boolean;
}

/** Training sources (real). The synthetic bases are clean-photos/{Kodak24,McMaster,CBSD68}, rain100H-dev clean and faces/deepface. */
export const TRAIN_SOURCES: readonly LabelledSource[] = [
  { group: 'Rain100H-dev', label: 'rain', dir: 'derain/rain100H-dev/rainy' },
  { group: 'Rain100H-dev clean', label: 'clean', dir: 'derain/rain100H-dev/clean' },
  { group: 'Bahat-Irani hazy', label: 'haze', dir: 'real-degraded/hazy_real', filter: (f) => f.startsWith('bahat_irani') },
  { group: 'DICM', label: 'lowlight', dir: 'lowlight/DICM' },
  { group: 'Kodak24', label: 'clean', dir: 'clean-photos/Kodak24' },
  { group: 'McMaster', label: 'clean', dir: 'clean-photos/McMaster' },
  { group: 'CBSD68', label: 'clean', dir: 'clean-photos/CBSD68' },
  { group: 'portraits (deepface)', label: 'clean', dir: 'faces/deepface' },
];

/** Test sources: never used to train or calibrate the recogniser. */
export const TEST_SOURCES: readonly LabelledSource[] = [
  { group: 'Rain100L (AirNet, MFDNet, paired)', label: 'rain', dir: 'derain/samples/rain100L_airnet/input' },
  { group: 'Rain100L (AirNet, MFDNet, paired)', label: 'rain', dir: 'derain/samples/rain100L_mfdnet/input' },
  { group: 'Rain100L (AirNet, MFDNet, paired)', label: 'rain', dir: 'real-degraded/paired_synthetic/Rain100L_test_3pairs/input' },
  { group: 'DDN (XMU) synthetic', label: 'rain', dir: 'derain/samples/ddn_xmu/synthetic', filter: (f) => f.includes('rain') },
  { group: 'DDN (XMU) real-world', label: 'rain', dir: 'derain/samples/ddn_xmu/real_world' },
  { group: 'JORDER-E Rain100H-style', label: 'rain', dir: 'derain/samples/rain100H_style_jorder_e/test/small/rain' },
  { group: 'raindrop on glass', label: 'rain', dir: 'real-degraded/rain_real_raindrop', outOfScope: true },
  { group: 'Utkarsh + RefineDNet hazy', label: 'haze', dir: 'real-degraded/hazy_real', filter: (f) => !f.startsWith('bahat_irani') },
  { group: 'dehaze/real-hazy', label: 'haze', dir: 'dehaze/real-hazy' },
  { group: 'SOTS outdoor', label: 'haze', dir: 'dehaze/sots-outdoor-pairs/input' },
  { group: 'LIME', label: 'lowlight', dir: 'lowlight/LIME' },
  { group: 'SCI', label: 'lowlight', dir: 'real-degraded/lowlight_real/SCI', filter: (f) => !f.startsWith('finetune_LIME') },
  { group: 'LOL eval15', label: 'lowlight', dir: 'lowlight/LOL-eval15-low' },
  { group: 'LOL eval15', label: 'lowlight', dir: 'real-degraded/lowlight_real/LOL_eval15_low_only' },
  { group: 'Flickr underexposed', label: 'lowlight', dir: 'real-degraded/lowlight_real/flickr_underexposed_CC' },
  { group: 'Set14', label: 'clean', dir: 'clean-photos/Set14' },
  { group: 'portraits (face_recognition)', label: 'clean', dir: 'faces/face_recognition' },
  { group: 'portraits (face_recognition)', label: 'clean', dir: 'faces/face_recognition/knn_examples/test' },
  { group: 'portraits (anti-spoof live)', label: 'clean', dir: 'faces/antispoof-samples', filter: (f) => f.startsWith('image_T') },
  { group: 'derain ground truths', label: 'clean', dir: 'derain/samples/rain100L_airnet/target' },
  { group: 'derain ground truths', label: 'clean', dir: 'derain/samples/rain100L_mfdnet/target' },
  { group: 'derain ground truths', label: 'clean', dir: 'real-degraded/paired_synthetic/Rain100L_test_3pairs/target' },
  { group: 'derain ground truths', label: 'clean', dir: 'derain/samples/ddn_xmu/synthetic', filter: (f) => f.includes('ground_truth') },
  { group: 'derain ground truths', label: 'clean', dir: 'derain/samples/rain100H_style_jorder_e/test/small/norain' },
  { group: 'SOTS outdoor clean', label: 'clean', dir: 'dehaze/sots-outdoor-pairs/target' },
];

const IMAGE_EXT = /\.(png|jpe?g|bmp|webp|tiff?)$/i;
const collator = new Intl.Collator('en', { numeric: true });

/** Image files of a source, sorted by name (numeric collation); [] when the folder is missing. */
export function sourceFiles(dataDir: string, src: LabelledSource): string[] {
  const dir = path.join(dataDir, src.dir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f) && (src.filter?.(f) ?? true))
    .sort(collator.compare)
    .map((f) => path.join(dir, f));
}

/** 64-bit difference hash (9x8 grey, horizontal gradients) as a bigint. */
export function dHash(img: RawImage): bigint {
  const small = resizeArea(toRgb(img), 9, 8);
  let h = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const a = (y * 9 + x) * 3;
      const b = a + 3;
      const ga = small.data[a] + small.data[a + 1] + small.data[a + 2];
      const gb = small.data[b] + small.data[b + 1] + small.data[b + 2];
      h = (h << 1n) | (ga > gb ? 1n : 0n);
    }
  }
  return h;
}

export function hamming(a: bigint, b: bigint): number {
  let x = a ^ b;
  let n = 0;
  while (x) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

/** Hamming distance at or below which two pictures are taken to be the same photo (as in the data's SOURCE.md files). */
export const DUPLICATE_DISTANCE = 10;

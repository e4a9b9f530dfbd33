import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { ClearsightError, ERROR_CODES } from '../errors.js';

/**
 * The model registry: one card per pretrained model we ship through npm packages.
 * Static facts live here; measured quality and speed live in docs/models.md,
 * written from benchmark runs (numbers are never typed in by hand).
 */
export type RestoreTask = 'derain' | 'dehaze' | 'lowlight' | 'denoise' | 'deblur' | 'retouch' | 'upscale';

export interface ModelIo {
  /** Tensor layout of input and output. */
  readonly layout: 'NHWC';
  /** Value range the network expects and returns (ours is [0,1]; we scale). */
  readonly range: readonly [number, number];
  /** Input height and width must be multiples of this. */
  readonly divisibility: number;
  /** Output size / input size. */
  readonly scale: number;
  /** Largest tile side we feed; bigger images are tiled. */
  readonly maxTile: number;
  /**
   * Smallest tile side at which the network's output does not depend on the tiling.
   * A requested smaller tile is raised to this (see expertTilePlan). MAXIM: 256, its
   * training crop: its multi-axis (grid) mixing is global, and on a 128 px tile it may
   * leave the rain in place (Rain100H dev pair 1: 26.6 dB at tile 128 vs 35.3 dB untiled,
   * the same in tfjs, so the network, not our conversion). ESRGAN is a local convolution
   * network: tiles of 32 px already agree with the untiled output to 53 dB.
   */
  readonly minTile: number;
  /** Overlap between neighbouring tiles, in input pixels. */
  readonly overlap: number;
}

export interface PaperFigure {
  readonly dataset: string;
  readonly metric: string;
  readonly value: number;
}

export interface ModelCard {
  /** `task/name@version` */
  readonly id: string;
  readonly task: RestoreTask;
  readonly name: string;
  readonly packageName: string;
  readonly modelPath: string;
  readonly format: 'graph' | 'layers';
  readonly customLayers?: 'esrgan-thick';
  readonly trainedOn: string;
  readonly paper: string;
  readonly io: ModelIo;
  readonly paperFigures: readonly PaperFigure[];
}

const MAXIM_PAPER = 'Tu et al., "MAXIM: Multi-Axis MLP for Image Processing", CVPR 2022';
const maximIo: ModelIo = { layout: 'NHWC', range: [0, 1], divisibility: 64, scale: 1, maxTile: 512, minTile: 256, overlap: 64 };

function maxim(task: RestoreTask, variant: string, trainedOn: string, figures: PaperFigure[]): Omit<ModelCard, 'id'> {
  return {
    task,
    name: `maxim-${variant}`,
    packageName: `@upscalerjs/maxim-${variant}`,
    modelPath: 'models/model.json',
    format: 'graph',
    trainedOn,
    paper: MAXIM_PAPER,
    io: maximIo,
    paperFigures: figures,
  };
}

const ESRGAN_SIZES = ['slim', 'medium', 'thick'] as const;
const ESRGAN_SCALES = [2, 3, 4, 8] as const;
export type EsrganSize = (typeof ESRGAN_SIZES)[number];
export type EsrganScale = (typeof ESRGAN_SCALES)[number];

function esrgan(size: EsrganSize, scale: EsrganScale): Omit<ModelCard, 'id'> {
  const thick = size === 'thick';
  return {
    task: 'upscale',
    name: `esrgan-${size}-x${scale}`,
    packageName: `@upscalerjs/esrgan-${size}`,
    modelPath: `models/x${scale}/model.json`,
    format: 'layers',
    customLayers: thick ? 'esrgan-thick' : undefined,
    trainedOn: 'DIV2K',
    paper: thick
      ? 'RRDN: Wang et al., "ESRGAN: Enhanced Super-Resolution GANs", ECCVW 2018 (idealo ISR variant)'
      : 'RDN: Zhang et al., "Residual Dense Network for Image Super-Resolution", CVPR 2018 (idealo ISR variant)',
    // Verified on the packages' own fixture/result pairs (tfjsReference.ts): rdn works in [0,255], rrdn in [0,1].
    io: { layout: 'NHWC', range: thick ? [0, 1] : [0, 255], divisibility: 1, scale, maxTile: 256, minTile: 32, overlap: 16 },
    paperFigures: [],
  };
}

const ENTRIES: Array<Omit<ModelCard, 'id'>> = [
  maxim('derain', 'deraining', 'Rain13K', [{ dataset: 'Rain100H', metric: 'PSNR-Y', value: 30.81 }, { dataset: 'Rain100L', metric: 'PSNR-Y', value: 38.06 }]),
  maxim('dehaze', 'dehazing-indoor', 'RESIDE ITS', [{ dataset: 'SOTS indoor', metric: 'PSNR', value: 38.11 }]),
  maxim('dehaze', 'dehazing-outdoor', 'RESIDE OTS', [{ dataset: 'SOTS outdoor', metric: 'PSNR', value: 34.19 }]),
  maxim('lowlight', 'enhancement', 'LOL', [{ dataset: 'LOL', metric: 'PSNR', value: 23.43 }]),
  maxim('denoise', 'denoising', 'SIDD', [{ dataset: 'SIDD', metric: 'PSNR', value: 39.96 }]),
  maxim('deblur', 'deblurring', 'GoPro', [{ dataset: 'GoPro', metric: 'PSNR', value: 32.86 }]),
  maxim('retouch', 'retouching', 'MIT-Adobe FiveK', [{ dataset: 'FiveK', metric: 'PSNR', value: 26.15 }]),
  ...ESRGAN_SIZES.flatMap((size) => ESRGAN_SCALES.map((scale) => esrgan(size, scale))),
];

const require = createRequire(import.meta.url);

/**
 * Directory of an installed model package (throws E_MODEL_NOT_FOUND when it is missing).
 * The packages' "exports" maps hide package.json, so we walk node's lookup paths ourselves.
 */
export function packageDir(packageName: string): string {
  for (const base of require.resolve.paths(packageName) ?? []) {
    const dir = join(base, packageName);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model package ${packageName} is not installed (run npm install)`, { packageName });
}

export interface PackageFacts {
  readonly version: string;
  readonly license: string;
}

export function packageFacts(packageName: string): PackageFacts {
  const pkg = JSON.parse(readFileSync(join(packageDir(packageName), 'package.json'), 'utf8')) as { version: string; license?: string };
  return { version: pkg.version, license: pkg.license ?? 'unknown' };
}

function withId(entry: Omit<ModelCard, 'id'>): ModelCard {
  let version = 'unknown';
  try {
    version = packageFacts(entry.packageName).version;
  } catch {
    // Listed even when not installed; loading it reports E_MODEL_NOT_FOUND.
  }
  return { id: `${entry.task}/${entry.name}@${version}`, ...entry };
}

let cards: ModelCard[] | undefined;

export function listModels(): readonly ModelCard[] {
  cards ??= ENTRIES.map(withId);
  return cards;
}

/** Finds a card by full id, by `task/name`, or by bare name. */
export function getModelCard(idOrName: string): ModelCard {
  const bare = idOrName.split('@')[0];
  const card = listModels().find((c) => c.id === idOrName || c.id.split('@')[0] === bare || c.name === bare);
  if (!card) {
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `unknown model "${idOrName}"; known: ${listModels().map((c) => c.name).join(', ')}`, { model: idOrName });
  }
  return card;
}

export function modelJsonPath(card: ModelCard): string {
  return join(packageDir(card.packageName), card.modelPath);
}

export { ESRGAN_SCALES, ESRGAN_SIZES };

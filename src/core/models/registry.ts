import { createRequire } from 'node:module';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { ClearsightError, ERROR_CODES } from '../errors.js';
import { listTrainedCards, TRAINED_MODELS_DIR, type TrainedCard } from './trained.js';

/**
 * The model registry: one card per pretrained model we ship through npm packages.
 * Static facts live here; measured quality and speed live in docs/models.md,
 * written from benchmark runs (numbers are never typed in by hand).
 */
export type RestoreTask = 'derain' | 'dehaze' | 'lowlight' | 'denoise' | 'deblur' | 'retouch' | 'upscale';
/** What a model is for: a restoration, or a judgement (degradation analysis, liveness, forensics, video SR). */
export type ModelTask = RestoreTask | 'analyze' | 'liveness' | 'forensics' | 'vsr' | 'face';

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
  readonly task: ModelTask;
  readonly name: string;
  /** The npm package shipping the weights; `clearsight` for models trained in this repository. */
  readonly packageName: string;
  readonly modelPath: string;
  /**
   * tfjs graph/layers models are converted to ONNX on first use; `onnx` models (trained here) load
   * as they are; `json` is a model that is data, not a network (the linear forensic detector:
   * logistic weights and calibrator, loaded by trust/forensics' loadForensicDetector).
   */
  readonly format: 'graph' | 'layers' | 'onnx' | 'json';
  /** Version and licence of a model that is not a package of its own (data files shipped here). */
  readonly version?: string;
  readonly licence?: string;
  readonly customLayers?: 'esrgan-thick';
  readonly trainedOn: string;
  readonly paper: string;
  readonly io: ModelIo;
  readonly paperFigures: readonly PaperFigure[];
  /** The full card of a model trained in this repository (architecture, data, figures). */
  readonly trained?: TrainedCard;
  /** Fixed-size networks that return tensors rather than an image (the face networks). */
  readonly network?: NetworkIo;
}

/** A fixed-input network's tensors: one square NHWC RGB input, named outputs in the model's order. */
export interface NetworkIo {
  readonly inputSize: number;
  readonly outputs: readonly { readonly shape: readonly number[]; readonly meaning: string }[];
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

const HUMAN = '@vladmandic/human';

function faceNet(
  name: string,
  range: [number, number],
  inputSize: number,
  paper: string,
  trainedOn: string,
  outputs: NetworkIo['outputs'],
): Omit<ModelCard, 'id'> {
  return {
    task: 'face',
    name,
    packageName: HUMAN,
    modelPath: `models/${name}.json`,
    format: 'graph',
    trainedOn,
    paper,
    io: { layout: 'NHWC', range, divisibility: inputSize, scale: 1, maxTile: inputSize, minTile: inputSize, overlap: 0 },
    paperFigures: [],
    network: { inputSize, outputs },
  };
}

/**
 * The face networks Human ships (src/face): converted to ONNX like the restoration models and run
 * at their one input size. Output order is the converted model's (the tfjs signature's when the
 * model has one); src/face finds each output by its shape.
 */
const FACE_ENTRIES: Array<Omit<ModelCard, 'id'>> = [
  faceNet(
    'blazeface',
    [-1, 1],
    256,
    'Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs", 2019 (MediaPipe back-camera model)',
    'MediaPipe (Google) face detection data',
    [
      { shape: [1, 512, 1], meaning: 'face logit, stride-16 anchors' },
      { shape: [1, 512, 16], meaning: 'box + 6 keypoints, stride-16 anchors' },
      { shape: [1, 384, 16], meaning: 'box + 6 keypoints, stride-32 anchors' },
      { shape: [1, 384, 1], meaning: 'face logit, stride-32 anchors' },
    ],
  ),
  faceNet(
    'facemesh',
    [0, 1],
    192,
    'Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on Mobile GPUs", 2019 (MediaPipe FaceMesh)',
    'MediaPipe (Google)',
    [
      { shape: [1, 1404], meaning: '468 x (x, y, z) in crop pixels' },
      { shape: [1, 1], meaning: 'face flag (logit through sigmoid)' },
      { shape: [1, 266], meaning: 'contour points' },
    ],
  ),
  faceNet(
    'iris',
    [0, 1],
    64,
    'Ablavatski et al., "Real-time Pupil Tracking from Monocular Video for Digital Puppetry", 2020 (MediaPipe Iris)',
    'MediaPipe (Google)',
    [{ shape: [1, 1, 1, 228], meaning: '71 eye-region + 5 iris points x (x, y, z) in crop pixels' }],
  ),
  faceNet(
    'faceres',
    [0, 255],
    224,
    'Savchenko, "Facial expression and attributes recognition based on multi-task learning of lightweight neural networks", 2021 (HSE FaceRes, via Human)',
    'VGGFace2 (identity), UTKFace/Adience (age, gender) per the HSE paper',
    [
      { shape: [1, 1], meaning: 'gender (sigmoid, unused)' },
      { shape: [1, 1024], meaning: 'identity descriptor (global pooling)' },
      { shape: [1, 100], meaning: 'age distribution (unused)' },
    ],
  ),
  faceNet('antispoof', [0, 1], 128, 'Human antispoof model (vladmandic), no paper', 'not documented by the package', [
    { shape: [1, 1], meaning: 'sigmoid score ("real" per Human)' },
  ]),
  faceNet('liveness', [0, 1], 32, 'Human liveness model (vladmandic), no paper', 'not documented by the package', [
    { shape: [1, 2], meaning: 'softmax, first = live' },
  ]),
];

const ENTRIES: Array<Omit<ModelCard, 'id'>> = [
  maxim('derain', 'deraining', 'Rain13K', [
    { dataset: 'Rain100H', metric: 'PSNR-Y', value: 30.81 },
    { dataset: 'Rain100L', metric: 'PSNR-Y', value: 38.06 },
  ]),
  maxim('dehaze', 'dehazing-indoor', 'RESIDE ITS', [{ dataset: 'SOTS indoor', metric: 'PSNR', value: 38.11 }]),
  maxim('dehaze', 'dehazing-outdoor', 'RESIDE OTS', [{ dataset: 'SOTS outdoor', metric: 'PSNR', value: 34.19 }]),
  maxim('lowlight', 'enhancement', 'LOL', [{ dataset: 'LOL', metric: 'PSNR', value: 23.43 }]),
  maxim('denoise', 'denoising', 'SIDD', [{ dataset: 'SIDD', metric: 'PSNR', value: 39.96 }]),
  maxim('deblur', 'deblurring', 'GoPro', [{ dataset: 'GoPro', metric: 'PSNR', value: 32.86 }]),
  maxim('retouch', 'retouching', 'MIT-Adobe FiveK', [{ dataset: 'FiveK', metric: 'PSNR', value: 26.15 }]),
  ...ESRGAN_SIZES.flatMap((size) => ESRGAN_SCALES.map((scale) => esrgan(size, scale))),
  ...FACE_ENTRIES,
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

/** A model trained here, as a registry card (ImageModel loads its ONNX directly). */
function fromTrained(card: TrainedCard): ModelCard {
  const { io } = card;
  const range = io.inputs[0]?.range ?? [0, 1];
  return {
    id: `${card.task}/${card.name}@${card.version}`,
    task: card.task as ModelTask,
    name: card.name,
    packageName: 'clearsight',
    modelPath: join(card.dir, card.file),
    format: 'onnx',
    trainedOn: card.training.data.map((d) => d.source).join(', '),
    paper: card.paper,
    io: { layout: 'NHWC', range, divisibility: io.divisibility, scale: io.scale, maxTile: io.maxTile, minTile: io.minTile, overlap: io.overlap },
    paperFigures: [],
    trained: card,
  };
}

/**
 * The linear forensic detector (trust/forensics/detector.ts): 35 hand-made features and an L2
 * logistic regression trained here (bench/forensics-train.ts), stored as data in
 * models/forensics-sbi.json. Its card comes from that file's own training record.
 */
function forensicLogisticCard(): ModelCard | undefined {
  const file = join(TRAINED_MODELS_DIR, 'forensics-sbi.json');
  if (!existsSync(file)) return undefined;
  const model = JSON.parse(readFileSync(file, 'utf8')) as {
    id: string;
    version: number;
    featureNames: string[];
    training: { data: string; faces: number; identities: number; command: string };
  };
  const features = model.featureNames.length;
  return dataHeadCard(file, model, {
    trainedOn: `self-blended pseudo-fakes of ${model.training.faces} faces (${model.training.identities} identities) from ${model.training.data}; \`${model.training.command}\``,
    paper:
      'Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022 (the pseudo-fakes); the detector itself is a logistic regression on our features',
    inputSize: 128,
    features,
    featureMeaning: `${features} forensic features -> P(manipulated) by logistic regression`,
  });
}

/**
 * The card of a forensic detector head stored as data (a JSON logistic model trained here): the
 * fields both heads share, from its id and version and what it was trained on.
 */
function dataHeadCard(
  file: string,
  model: { id: string; version: number | string },
  head: { trainedOn: string; paper: string; inputSize: number; features: number; featureMeaning: string },
): ModelCard {
  const name = model.id.split('/')[1] ?? model.id;
  const version = `${model.version}.0.0`;
  return {
    id: `forensics/${name}@${version}`,
    task: 'forensics',
    name,
    packageName: 'clearsight',
    modelPath: file,
    format: 'json',
    version,
    licence: 'MIT',
    trainedOn: head.trainedOn,
    paper: head.paper,
    io: { layout: 'NHWC', range: [0, 1], divisibility: 1, scale: 1, maxTile: head.inputSize, minTile: head.inputSize, overlap: 0 },
    paperFigures: [],
    network: { inputSize: head.inputSize, outputs: [{ shape: [1, head.features], meaning: head.featureMeaning }] },
  };
}

/**
 * The frozen-backbone forensic detector's head (trust/forensics/backboneDetector.ts): a logistic
 * regression on 1248 pooled features of Human's centernet trunk, trained here
 * (training/forensics-sbi-backbone.ts) and stored as data in models/forensics-sbi-backbone.json.
 * The trunk itself is Human's package model (converted like every tfjs model).
 */
function forensicBackboneCard(): ModelCard | undefined {
  const file = join(TRAINED_MODELS_DIR, 'forensics-sbi-backbone.json');
  if (!existsSync(file)) return undefined;
  const model = JSON.parse(readFileSync(file, 'utf8')) as {
    id: string;
    version: string;
    backbone: { name: string; input: number };
    logistic: { weights: number[] };
    training: { data: string; command: string; split: { train: { crops: number; people: number }; val: { crops: number; people: number } } };
  };
  const { train, val } = model.training.split;
  const features = model.logistic.weights.length;
  return dataHeadCard(file, model, {
    trainedOn: `${model.training.data}: ${train.crops} crops of ${train.people} people (train), ${val.crops} of ${val.people} (validation, Platt); \`${model.training.command}\``,
    paper:
      'Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022 (the pseudo-fakes); the head is a logistic regression on a frozen pretrained trunk (Human centernet, MobileNetV3)',
    inputSize: model.backbone.input,
    features,
    featureMeaning: `${features} pooled trunk features -> P(manipulated) by logistic regression`,
  });
}

let cards: ModelCard[] | undefined;

/**
 * Every model, each with its card: pretrained ones from npm packages (the restoration experts
 * and the face networks, converted from tfjs), then the ones trained in this repository (ONNX
 * networks, and the linear and frozen-backbone forensic detectors' heads, which are data).
 */
export function listModels(): readonly ModelCard[] {
  const data = [forensicLogisticCard(), forensicBackboneCard()].filter((c): c is ModelCard => c !== undefined);
  cards ??= [...ENTRIES.map(withId), ...listTrainedCards().map(fromTrained), ...data];
  return cards;
}

/** Finds a card by full id, by `task/name`, or by bare name. */
export function getModelCard(idOrName: string): ModelCard {
  const bare = idOrName.split('@')[0];
  const card = listModels().find((c) => c.id === idOrName || c.id.split('@')[0] === bare || c.name === bare);
  if (!card) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `unknown model "${idOrName}"; known: ${listModels()
        .map((c) => c.name)
        .join(', ')}`,
      { model: idOrName },
    );
  }
  return card;
}

/** Where a card's weights are: the tfjs model.json inside its package, or the trained ONNX file. */
export function modelJsonPath(card: ModelCard): string {
  if (card.format === 'json') {
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model ${card.id} is data, not a network: load it with loadForensicDetector('logistic')`, {
      model: card.id,
    });
  }
  if (card.format === 'onnx') return card.modelPath;
  return join(packageDir(card.packageName), card.modelPath);
}

export { ESRGAN_SCALES, ESRGAN_SIZES };

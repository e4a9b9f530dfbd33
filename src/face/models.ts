import { createRequire } from 'node:module';
import path from 'node:path';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { getModelCard, modelJsonPath } from '../core/models/registry.js';
import { report, type ProgressEvent } from '../core/progress.js';
import type { Device } from '../core/runtime/index.js';
import { FaceRunner } from './runner.js';

/** Which networks to load; detection is always loaded. */
export interface FaceModelsOptions {
  /** 468-point face mesh (landmarks). Default true. */
  mesh?: boolean;
  /** 1024-d identity description (faceres). Default true. */
  embed?: boolean;
  /** The two single-frame anti-spoofing CNNs (antispoof, liveness). Default false. */
  liveness?: boolean;
  /** Iris + eye-contour refinement (MediaPipe iris). Default: as `liveness` (its blink and gaze cues use it). */
  iris?: boolean;
  /** Folder holding the Human model.json files; default: the installed @vladmandic/human/models (the registry's face cards). */
  modelDir?: string;
  /**
   * onnxruntime intra-op threads per network. Default 1: these networks are small (a 256x256
   * detector, a 224x224 MobileNet-style descriptor), one thread keeps them busy, and on a shared
   * machine a second thread mostly waits for a core (bench:faces reports both).
   */
  threads?: number;
  /** 'cpu' (default), 'cuda' (falls back to the CPU with a warning) or 'cuda!' (no fallback). */
  device?: Device;
  /** Where converted models are cached; default $CLEARSIGHT_CACHE_DIR or ~/.cache/clearsight. */
  cacheDir?: string;
  /**
   * Loading progress: 'prepare model' i of n networks, with 'convert model' 0/1 ... 1/1 around a
   * network's first-run tfjs -> ONNX conversion (seconds each; cached after).
   */
  onProgress?: (event: ProgressEvent) => void;
}

export type FaceNetwork = 'detector' | 'mesh' | 'embed' | 'antispoof' | 'liveness' | 'iris';

/** The registry card (src/core/models/registry.ts) of each network. */
export const FACE_MODEL_NAMES: Record<FaceNetwork, string> = {
  detector: 'blazeface',
  mesh: 'facemesh',
  embed: 'faceres',
  antispoof: 'antispoof',
  liveness: 'liveness',
  iris: 'iris',
};

/** Input side of each network (square NHWC). */
export const INPUT_SIZE: Record<FaceNetwork, number> = { detector: 256, mesh: 192, embed: 224, antispoof: 128, liveness: 32, iris: 64 };

/**
 * The face networks, loaded into an object the caller owns (no module-level singletons).
 * Call dispose() when done. Weights come from the @vladmandic/human package (MIT), no download.
 */
export class FaceModels {
  private runners: Partial<Record<FaceNetwork, FaceRunner>>;

  private constructor(runners: Partial<Record<FaceNetwork, FaceRunner>>) {
    this.runners = runners;
  }

  static async load(opts: FaceModelsOptions = {}): Promise<FaceModels> {
    if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
    for (const key of ['mesh', 'embed', 'liveness', 'iris'] as const) {
      if (opts[key] !== undefined && typeof opts[key] !== 'boolean') throw invalidOption(key, 'a boolean', opts[key]);
    }
    if (opts.modelDir !== undefined && (typeof opts.modelDir !== 'string' || opts.modelDir === '')) {
      throw invalidOption('modelDir', 'a folder path', opts.modelDir);
    }
    if (opts.cacheDir !== undefined && (typeof opts.cacheDir !== 'string' || opts.cacheDir === '')) {
      throw invalidOption('cacheDir', 'a folder path', opts.cacheDir);
    }
    const pathOf = (net: FaceNetwork) =>
      opts.modelDir !== undefined ? path.join(opts.modelDir, `${FACE_MODEL_NAMES[net]}.json`) : modelJsonPath(getModelCard(FACE_MODEL_NAMES[net]));
    const runtime = { threads: opts.threads ?? 1, device: opts.device, cacheDir: opts.cacheDir };
    const wanted: FaceNetwork[] = ['detector'];
    if (opts.mesh ?? true) wanted.push('mesh');
    if (opts.embed ?? true) wanted.push('embed');
    if (opts.liveness ?? false) wanted.push('antispoof', 'liveness');
    if ((opts.iris ?? opts.liveness ?? false) && (opts.mesh ?? true)) wanted.push('iris');
    const runners: Partial<Record<FaceNetwork, FaceRunner>> = {};
    try {
      // sequential: a first load converts each graph (CPU-bound), later loads read the cache
      const control = { onProgress: opts.onProgress };
      for (const [i, net] of wanted.entries()) {
        report(control, 'prepare model', i, wanted.length);
        runners[net] = await FaceRunner.load(pathOf(net), FACE_MODEL_NAMES[net], INPUT_SIZE[net], {
          ...runtime,
          onConvert: (phase) => report(control, 'convert model', phase === 'start' ? 0 : 1, 1),
        });
      }
      report(control, 'prepare model', wanted.length, wanted.length);
    } catch (err) {
      await Promise.all(Object.values(runners).map((r) => r.dispose()));
      throw err;
    }
    return new FaceModels(runners);
  }

  has(net: FaceNetwork): boolean {
    return this.runners[net] !== undefined;
  }

  /** @internal the runner for one network; throws if it was not loaded or the models are disposed. */
  runner(net: FaceNetwork): FaceRunner {
    const r = this.runners[net];
    if (!r) {
      const how = net === 'antispoof' || net === 'liveness' ? '{ liveness: true }' : `{ ${net}: true }`;
      throw new ClearsightError(ERROR_CODES.RUNTIME, `face network "${net}" is not loaded (FaceModels.load(${how}) or models disposed)`);
    }
    return r;
  }

  /** Releases the onnxruntime sessions (callers may await it; the models are unusable at once either way). */
  async dispose(): Promise<void> {
    const runners = Object.values(this.runners);
    this.runners = {};
    await Promise.all(runners.map((r) => r.dispose()));
  }
}

export function defaultModelDir(): string {
  const require = createRequire(import.meta.url);
  try {
    // the package's exports map hides package.json; its node entry lives in dist/
    return path.join(path.dirname(require.resolve('@vladmandic/human')), '..', 'models');
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, 'the @vladmandic/human package (face models) is not installed', {}, { cause: err });
  }
}

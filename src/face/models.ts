import { createRequire } from 'node:module';
import path from 'node:path';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { GraphRunner } from './runner.js';

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
  /** Folder holding the Human model.json files; default: the installed @vladmandic/human/models. */
  modelDir?: string;
}

export type FaceNetwork = 'detector' | 'mesh' | 'embed' | 'antispoof' | 'liveness' | 'iris';

const FILES: Record<FaceNetwork, string> = {
  detector: 'blazeface.json',
  mesh: 'facemesh.json',
  embed: 'faceres.json',
  antispoof: 'antispoof.json',
  liveness: 'liveness.json',
  iris: 'iris.json',
};

/** Input side of each network (square NHWC). */
export const INPUT_SIZE: Record<FaceNetwork, number> = { detector: 256, mesh: 192, embed: 224, antispoof: 128, liveness: 32, iris: 64 };

/**
 * The face networks, loaded into an object the caller owns (no module-level singletons).
 * Call dispose() when done. Weights come from the @vladmandic/human package (MIT), no download.
 */
export class FaceModels {
  private runners: Partial<Record<FaceNetwork, GraphRunner>>;

  private constructor(runners: Partial<Record<FaceNetwork, GraphRunner>>) {
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
    const dir = opts.modelDir ?? defaultModelDir();
    const wanted: FaceNetwork[] = ['detector'];
    if (opts.mesh ?? true) wanted.push('mesh');
    if (opts.embed ?? true) wanted.push('embed');
    if (opts.liveness ?? false) wanted.push('antispoof', 'liveness');
    if ((opts.iris ?? opts.liveness ?? false) && (opts.mesh ?? true)) wanted.push('iris');
    const runners: Partial<Record<FaceNetwork, GraphRunner>> = {};
    try {
      // sequential: tfjs wasm initialises once, and loading is I/O bound anyway
      for (const net of wanted) runners[net] = await GraphRunner.load(path.join(dir, FILES[net]));
    } catch (err) {
      for (const r of Object.values(runners)) r.dispose();
      throw err;
    }
    return new FaceModels(runners);
  }

  has(net: FaceNetwork): boolean {
    return this.runners[net] !== undefined;
  }

  /** @internal the runner for one network; throws if it was not loaded or the models are disposed. */
  runner(net: FaceNetwork): GraphRunner {
    const r = this.runners[net];
    if (!r) {
      const how = net === 'antispoof' || net === 'liveness' ? '{ liveness: true }' : `{ ${net}: true }`;
      throw new ClearsightError(ERROR_CODES.RUNTIME, `face network "${net}" is not loaded (FaceModels.load(${how}) or models disposed)`);
    }
    return r;
  }

  dispose(): void {
    for (const r of Object.values(this.runners)) r.dispose();
    this.runners = {};
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

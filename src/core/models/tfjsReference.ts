/**
 * tfjs reference runner: executes the original tfjs weights (the `@upscalerjs/*` packages)
 * with TensorFlow.js on the WebAssembly backend in Node.
 *
 * It is the numerical reference our own tfjs -> ONNX converter is checked against, and the
 * speed baseline for benchmarks. It is not the production engine (that is onnxruntime-node).
 *
 * - Models are read from disk (model.json + weight shards in the same folder) through an
 *   in-process tfjs IOHandler: no fetch, no http.
 * - The wasm backend is initialised once per process (`initTfjsWasm`) and becomes tfjs's
 *   global backend. In Node only the single-threaded SIMD build works (the multi-threaded
 *   build spawns workers from blob: URLs, which Node's `worker_threads` refuses).
 * - The wasm backend lacks an `Einsum` kernel, which every MAXIM graph needs; we register one
 *   (`registerWasmEinsum`) that lowers a two-operand einsum to the backend's own
 *   Transpose / Reshape / BatchMatMul / Sum kernels.
 * - ESRGAN "thick" (rrdn) models need the custom layers `MultiplyBeta` and
 *   `PixelShuffle{2,3,4,8}x`, registered on demand.
 *
 * Value ranges are the caller's business; predict() feeds the model exactly what it is given.
 * As published by upscalerjs: MAXIM [0,1] in/out, ESRGAN slim/medium ('rdn') [0,255] in/out,
 * ESRGAN thick ('rrdn') [0,1] in/out. Verified: with these ranges the packages' own
 * assets/fixture.png reproduces their assets/samples/<s>x/result.png at ~59 dB PSNR (8-bit
 * rounding only); the other range gives 40-50 dB (bench/tfjs-smoke.ts).
 * Outputs are not clamped (ESRGAN rdn overshoots to about -27..296 on real images).
 *
 * We import the tfjs sub-packages (core, converter, layers) rather than the `@tensorflow/tfjs`
 * umbrella: its Node bundle requires `long` at top level, which npm nests under tfjs-core only.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { layers as tfLayers, loadLayersModel, type LayersModel, type Shape } from '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export type TfjsModelKind = 'graph' | 'layers';

export interface TfjsReferenceOptions {
  /** Register the custom layers a model family needs before loading it. */
  customLayers?: 'esrgan-thick';
}

export interface TfjsPrediction {
  /** Output values, NHWC, row-major; a copy owned by the caller. */
  data: Float32Array;
  shape: number[];
}

export interface TfjsReference {
  /** Runs the model on one NHWC float32 image batch of size 1. */
  predict(input: Float32Array, shape: [1, number, number, 3]): Promise<TfjsPrediction>;
  /** Every output, in the model's order (graph models: the signature's, as tfjs executes them). */
  predictAll(input: Float32Array, shape: [1, number, number, 3]): Promise<TfjsPrediction[]>;
  /** Frees the model's weights. The reference cannot be used afterwards. */
  dispose(): void;
}

/**
 * Loads a tfjs model (graph or layers) from `modelJsonPath` and its weight shards from the
 * same folder, on the wasm backend (initialised on first use).
 */
export async function loadTfjsReference(modelJsonPath: string, kind: TfjsModelKind, opts: TfjsReferenceOptions = {}): Promise<TfjsReference> {
  if (typeof modelJsonPath !== 'string' || modelJsonPath.length === 0) {
    throw invalidOption('modelJsonPath', 'a path to a tfjs model.json', modelJsonPath);
  }
  if (kind !== 'graph' && kind !== 'layers') {
    throw invalidOption('kind', '"graph" or "layers"', kind);
  }
  if (opts.customLayers !== undefined && opts.customLayers !== 'esrgan-thick') {
    throw invalidOption('customLayers', '"esrgan-thick" or undefined', opts.customLayers);
  }
  if (opts.customLayers === 'esrgan-thick' && kind !== 'layers') {
    throw invalidOption('customLayers', 'custom layers only with kind "layers"', opts.customLayers);
  }

  await initTfjsWasm();
  if (opts.customLayers === 'esrgan-thick') registerEsrganThickLayers();

  const handler = fileModelHandler(path.resolve(modelJsonPath));
  let model: GraphModel | LayersModel;
  try {
    model = kind === 'graph' ? await loadGraphModel(handler) : await loadLayersModel(handler);
  } catch (err) {
    if (err instanceof ClearsightError) throw err;
    throw new ClearsightError(
      ERROR_CODES.RUNTIME,
      `tfjs could not load the ${kind} model ${modelJsonPath}: ${errorMessage(err)}`,
      { modelJsonPath, kind },
      { cause: err },
    );
  }
  return new TfjsReferenceImpl(model, kind, modelJsonPath);
}

let wasmReady: Promise<void> | undefined;

/**
 * Initialises tfjs with the wasm backend once per process (idempotent; concurrent callers
 * share one initialisation) and registers our extra wasm kernels.
 */
export function initTfjsWasm(): Promise<void> {
  wasmReady ??= doInitTfjsWasm().catch((err: unknown) => {
    wasmReady = undefined; // let a later call retry
    throw err;
  });
  return wasmReady;
}

async function doInitTfjsWasm(): Promise<void> {
  registerWasmEinsum();
  let ok: boolean;
  try {
    // Point the loader at the package's own .wasm binaries (a path prefix ending in a
    // separator). Harmless if someone already initialised the backend: it only affects a
    // future initialisation. (Do not probe with tf.findBackend: it starts initialising.)
    if (!(tf.engine().registry as Record<string, unknown>).wasm) {
      const require = createRequire(import.meta.url);
      const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
      setWasmPaths(path.dirname(wasmFile) + path.sep);
    }
    ok = await tf.setBackend('wasm');
    await tf.ready();
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.RUNTIME, `tfjs wasm backend failed to initialise: ${errorMessage(err)}`, {}, { cause: err });
  }
  if (!ok || tf.getBackend() !== 'wasm') {
    throw new ClearsightError(ERROR_CODES.RUNTIME, 'tfjs wasm backend failed to initialise (setBackend returned false)');
  }
}

// ---------------------------------------------------------------------------------------------
// Model wrapper
// ---------------------------------------------------------------------------------------------

class TfjsReferenceImpl implements TfjsReference {
  #model: GraphModel | LayersModel | undefined;
  readonly #kind: TfjsModelKind;
  readonly #source: string;

  constructor(model: GraphModel | LayersModel, kind: TfjsModelKind, source: string) {
    this.#model = model;
    this.#kind = kind;
    this.#source = source;
  }

  async predict(input: Float32Array, shape: [1, number, number, 3]): Promise<TfjsPrediction> {
    const [first] = await this.predictAll(input, shape);
    if (!first) throw new ClearsightError(ERROR_CODES.RUNTIME, `tfjs model ${this.#source} returned no output`);
    return first;
  }

  async predictAll(input: Float32Array, shape: [1, number, number, 3]): Promise<TfjsPrediction[]> {
    const model = this.#model;
    if (!model) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `tfjs reference for ${this.#source} was disposed`);
    }
    checkInput(input, shape);

    const x = tf.tensor4d(input, shape, 'float32');
    let outputs: tf.Tensor[];
    try {
      outputs = toArray(await this.#run(model, x));
    } catch (err) {
      throw new ClearsightError(
        ERROR_CODES.RUNTIME,
        `tfjs inference failed for ${this.#source} on input [${shape.join(',')}]: ${errorMessage(err)}`,
        { modelJsonPath: this.#source, shape },
        { cause: err },
      );
    } finally {
      x.dispose();
    }
    try {
      const result: TfjsPrediction[] = [];
      for (const y of outputs) {
        // Copy: never hand out a view on backend memory.
        result.push({ data: Float32Array.from((await y.data()) as Float32Array), shape: y.shape.slice() });
      }
      return result;
    } finally {
      for (const t of outputs) t.dispose();
    }
  }

  async #run(model: GraphModel | LayersModel, x: tf.Tensor4D): Promise<tf.Tensor | tf.Tensor[]> {
    if (this.#kind === 'layers') return (model as LayersModel).predict(x);
    const graph = model as GraphModel;
    try {
      return graph.execute(x);
    } catch (err) {
      // Graphs with control flow / dynamic ops must run asynchronously.
      if (/executeAsync/.test(errorMessage(err))) return graph.executeAsync(x);
      throw err;
    }
  }

  dispose(): void {
    this.#model?.dispose();
    this.#model = undefined;
  }
}

function checkInput(input: Float32Array, shape: readonly number[]): void {
  if (!(input instanceof Float32Array)) {
    throw invalidOption('input', 'a Float32Array', input === null ? null : typeof input);
  }
  if (!Array.isArray(shape) || shape.length !== 4 || shape[0] !== 1 || shape[3] !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw invalidOption('shape', '[1, height, width, 3] with positive integer height and width', shape);
  }
  const expected = shape[1]! * shape[2]! * 3;
  if (input.length !== expected) {
    throw invalidOption('input', `${expected} values for shape [${shape.join(',')}]`, `${input.length} values`);
  }
}

function toArray(t: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(t) ? t : [t];
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// IOHandler reading model.json + shards from disk
// ---------------------------------------------------------------------------------------------

/** A tfjs IOHandler that reads `model.json` and the weight shards it lists from its folder. */
export function fileModelHandler(modelJsonPath: string): tf.io.IOHandler {
  const dir = path.dirname(modelJsonPath);
  return {
    load: async () => {
      const text = await readModelFile(modelJsonPath, 'utf8');
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new ClearsightError(ERROR_CODES.RUNTIME, `${modelJsonPath} is not valid JSON: ${errorMessage(err)}`, { modelJsonPath }, { cause: err });
      }
      if (typeof json !== 'object' || json === null || json.modelTopology === undefined) {
        throw new ClearsightError(ERROR_CODES.RUNTIME, `${modelJsonPath} is not a tfjs model.json (no modelTopology)`, { modelJsonPath });
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const shard of group.paths) {
            const file = path.resolve(dir, shard);
            const rel = path.relative(dir, file);
            if (path.isAbsolute(shard) || rel === '..' || rel.startsWith(`..${path.sep}`)) {
              throw new ClearsightError(ERROR_CODES.RUNTIME, `weight shard "${shard}" of ${modelJsonPath} lies outside its folder`, { modelJsonPath, shard });
            }
            const buf = await readModelFile(file);
            buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
          }
        }
        return [specs, buffers];
      });
    },
  };
}

async function readModelFile(file: string): Promise<Buffer>;
async function readModelFile(file: string, encoding: 'utf8'): Promise<string>;
async function readModelFile(file: string, encoding?: 'utf8'): Promise<Buffer | string> {
  try {
    return encoding ? await readFile(file, encoding) : await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model file not found: ${file}`, { path: file }, { cause: err });
    }
    throw new ClearsightError(ERROR_CODES.RUNTIME, `cannot read model file ${file}: ${errorMessage(err)}`, { path: file }, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// ESRGAN thick (rrdn) custom layers
// ---------------------------------------------------------------------------------------------

let esrganLayersRegistered = false;

type LayerArgs = NonNullable<ConstructorParameters<typeof tfLayers.Layer>[0]>;
type LayerConfig = LayerArgs & { beta?: number; scale?: number };

function baseArgs(config: LayerConfig | undefined): LayerArgs {
  // Pass through only what tfjs's Layer understands; extra keys are our own.
  const { beta: _beta, scale: _scale, ...rest } = config ?? {};
  return rest;
}

function firstTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const t = Array.isArray(inputs) ? inputs[0] : inputs;
  if (!t) throw new ClearsightError(ERROR_CODES.RUNTIME, 'layer called without an input tensor');
  return t;
}

/**
 * Registers the custom layers of the `@upscalerjs/esrgan-thick` models with tfjs's
 * serialization map (process-wide, idempotent): `MultiplyBeta` (x * beta, beta = 0.2 in every
 * published model) and `PixelShuffle{2,3,4,8}x` (depth-to-space, NHWC, block = scale).
 */
export function registerEsrganThickLayers(): void {
  if (esrganLayersRegistered) return;

  class MultiplyBeta extends tfLayers.Layer {
    static className = 'MultiplyBeta';
    readonly beta: number;
    constructor(config?: LayerConfig) {
      super(baseArgs(config));
      this.beta = config?.beta ?? 0.2;
    }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.mul(firstTensor(inputs), this.beta);
    }
    override getConfig(): tf.serialization.ConfigDict {
      return { ...super.getConfig(), beta: this.beta };
    }
  }
  tf.serialization.registerClass(MultiplyBeta);

  for (const scale of [2, 3, 4, 8]) {
    const PixelShuffle = class extends tfLayers.Layer {
      static className = `PixelShuffle${scale}x`;
      readonly scale: number;
      constructor(config?: LayerConfig) {
        super(baseArgs(config));
        this.scale = config?.scale ?? scale;
      }
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.depthToSpace(firstTensor(inputs) as tf.Tensor4D, this.scale, 'NHWC');
      }
      override computeOutputShape(inputShape: Shape | Shape[]): Shape {
        const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
        const r = this.scale;
        const mul = (d: number | null | undefined, k: number): number | null => (d == null ? null : d * k);
        const c = s[3];
        return [s[0] ?? null, mul(s[1], r), mul(s[2], r), c == null ? null : c / (r * r)];
      }
      override getConfig(): tf.serialization.ConfigDict {
        return { ...super.getConfig(), scale: this.scale };
      }
    };
    tf.serialization.registerClass(PixelShuffle);
  }
  esrganLayersRegistered = true;
}

// ---------------------------------------------------------------------------------------------
// Einsum on the wasm backend
// ---------------------------------------------------------------------------------------------

/** How one operand is brought into the [batch, rows, cols] layout BatchMatMul wants. */
export interface EinsumOperandPlan {
  /** Axes summed away first (indices that occur only in this operand and not in the output). */
  sumAxes: number[];
  /** Transpose applied after the sum, or null when already in order. */
  perm: number[] | null;
  /** The rank-3 shape handed to BatchMatMul. */
  shape3: [number, number, number];
}

/** A two-operand einsum lowered to sum -> transpose -> reshape -> BatchMatMul -> reshape -> transpose. */
export interface EinsumPlan {
  equation: string;
  a: EinsumOperandPlan;
  b: EinsumOperandPlan;
  /** Shape of the BatchMatMul result, un-flattened, before the final transpose. */
  productShape: number[];
  /** Final transpose into the output's index order, or null. */
  outPerm: number[] | null;
  outShape: number[];
}

function unsupportedEinsum(equation: string, why: string): ClearsightError {
  return new ClearsightError(ERROR_CODES.RUNTIME, `Einsum "${equation}" is not supported by clearsight's wasm Einsum kernel: ${why}`, { equation });
}

const prod = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);
const isIdentity = (perm: readonly number[]): boolean => perm.every((p, i) => p === i);

/** The two operands' and the output's index letters (the output derived in implicit mode); checked. */
function parseEinsum(equation: string): { la: string; lb: string; out: string } {
  const eq = equation.replace(/\s+/g, '');
  if (eq.includes('.')) throw unsupportedEinsum(equation, 'ellipsis ("...") is not supported');
  const sides = eq.split('->');
  if (sides.length > 2) throw unsupportedEinsum(equation, 'more than one "->"');
  const operands = sides[0]!.split(',');
  if (operands.length !== 2) throw unsupportedEinsum(equation, `expected exactly 2 operands, got ${operands.length}`);
  const [la, lb] = operands as [string, string];
  for (const term of [la, lb, sides[1] ?? '']) {
    if (!/^[a-zA-Z]*$/.test(term)) throw unsupportedEinsum(equation, `"${term}" must consist of letters a-z, A-Z`);
  }
  let out: string;
  if (sides.length === 2) {
    out = sides[1]!;
  } else {
    // Implicit mode (numpy): indices that appear exactly once, in alphabetical order.
    const counts = new Map<string, number>();
    for (const ch of la + lb) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    out = [...counts]
      .filter(([, n]) => n === 1)
      .map(([ch]) => ch)
      .sort()
      .join('');
  }
  for (const [term, what] of [
    [la, 'first operand'],
    [lb, 'second operand'],
    [out, 'output'],
  ] as const) {
    if (new Set(term).size !== term.length) {
      throw unsupportedEinsum(equation, `repeated index in the ${what} "${term}" (diagonals/traces are not supported)`);
    }
  }
  return { la, lb, out };
}

/** The size of each index letter, from the operands' shapes (which must agree with the letters and each other). */
function indexSizes(
  equation: string,
  { la, lb, out }: { la: string; lb: string; out: string },
  shapeA: readonly number[],
  shapeB: readonly number[],
): Map<string, number> {
  if (la.length !== shapeA.length)
    throw unsupportedEinsum(equation, `first operand "${la}" has rank ${la.length} but the tensor has shape [${shapeA.join(',')}]`);
  if (lb.length !== shapeB.length)
    throw unsupportedEinsum(equation, `second operand "${lb}" has rank ${lb.length} but the tensor has shape [${shapeB.join(',')}]`);

  const size = new Map<string, number>();
  const setSize = (ch: string, n: number): void => {
    const prev = size.get(ch);
    if (prev !== undefined && prev !== n) throw unsupportedEinsum(equation, `index "${ch}" has size ${prev} in one operand and ${n} in the other`);
    size.set(ch, n);
  };
  [...la].forEach((ch, i) => {
    setSize(ch, shapeA[i]!);
  });
  [...lb].forEach((ch, i) => {
    setSize(ch, shapeB[i]!);
  });
  for (const ch of out) {
    if (!size.has(ch)) throw unsupportedEinsum(equation, `output index "${ch}" does not occur in any operand`);
  }
  return size;
}

/**
 * Plans a two-operand einsum (explicit `ab,bc->ac` or implicit `ab,bc` form; letters only;
 * no ellipsis, no repeated index within one operand) as sum -> transpose -> BatchMatMul ->
 * transpose. Throws a ClearsightError naming the equation for anything else.
 */
export function planEinsum(equation: string, shapeA: readonly number[], shapeB: readonly number[]): EinsumPlan {
  const { la, lb, out } = parseEinsum(equation);
  const size = indexSizes(equation, { la, lb, out }, shapeA, shapeB);
  const sz = (letters: readonly string[]): number[] => letters.map((ch) => size.get(ch)!);

  // Indices in only one operand and not in the output are summed away first.
  const inOut = new Set(out);
  const setA0 = new Set(la);
  const setB0 = new Set(lb);
  const sumAxesA = [...la].flatMap((ch, i) => (!setB0.has(ch) && !inOut.has(ch) ? [i] : []));
  const sumAxesB = [...lb].flatMap((ch, i) => (!setA0.has(ch) && !inOut.has(ch) ? [i] : []));
  const A = [...la].filter((_, i) => !sumAxesA.includes(i));
  const B = [...lb].filter((_, i) => !sumAxesB.includes(i));
  const setA = new Set(A);
  const setB = new Set(B);

  const batch = A.filter((ch) => setB.has(ch) && inOut.has(ch));
  const contr = A.filter((ch) => setB.has(ch) && !inOut.has(ch));
  const freeA = A.filter((ch) => !setB.has(ch));
  const freeB = B.filter((ch) => !setA.has(ch));

  // Layout: A -> [batch, freeA, contr], B -> [batch, contr, freeB], product [batch, freeA, freeB].
  // Always explicit transposes, never BatchMatMul's transpose flags and never a broadcast
  // batch: tfjs-wasm 4.22 runs BatchMatMul fast (XNNPACK) only for batch 1 without transpose
  // flags; the other paths are ~10-20x slower (measured: [1,512,256]x[1,256,256] 3.4 ms,
  // same with transposeB 58 ms, [8,64,256]x[1,256,256] 53 ms), while a transpose of a
  // 128k-element tensor costs ~0.3 ms.
  const operand = (letters: string[], sumAxes: number[], order: string[], rows: string[], cols: string[]): EinsumOperandPlan => {
    const perm = order.map((ch) => letters.indexOf(ch));
    return {
      sumAxes,
      perm: isIdentity(perm) ? null : perm,
      shape3: [prod(sz(batch)), prod(sz(rows)), prod(sz(cols))],
    };
  };
  const a = operand(A, sumAxesA, [...batch, ...freeA, ...contr], freeA, contr);
  const b = operand(B, sumAxesB, [...batch, ...contr, ...freeB], contr, freeB);
  const productLetters = [...batch, ...freeA, ...freeB];
  const outPerm = [...out].map((ch) => productLetters.indexOf(ch));
  return {
    equation,
    a,
    b,
    productShape: sz(productLetters),
    outPerm: isIdentity(outPerm) ? null : outPerm,
    outShape: sz([...out]),
  };
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Runs one kernel of the wasm backend directly (no engine bookkeeping: we own the result). */
function runWasmKernel(name: string, backend: KernelArgs['backend'], inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new ClearsightError(ERROR_CODES.RUNTIME, `tfjs wasm backend has no ${name} kernel`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new ClearsightError(ERROR_CODES.RUNTIME, `tfjs wasm ${name} kernel returned several tensors`);
  return out;
}

interface BackendWithDispose {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

function wasmEinsumKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const equation = String((attrs as { equation?: unknown } | undefined)?.equation ?? '');
  const list = (Array.isArray(inputs) ? inputs : Object.values(inputs)) as tf.TensorInfo[];
  if (list.length !== 2) throw unsupportedEinsum(equation, `expected 2 input tensors, got ${list.length}`);
  const [x, y] = list as [tf.TensorInfo, tf.TensorInfo];
  if (x.dtype !== 'float32' || y.dtype !== 'float32') {
    throw unsupportedEinsum(equation, `only float32 tensors are supported (got ${x.dtype}, ${y.dtype})`);
  }
  const plan = planEinsum(equation, x.shape, y.shape);

  const temps: tf.TensorInfo[] = [];
  const run = (name: string, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): tf.TensorInfo => {
    const t = runWasmKernel(name, backend, ins, at);
    temps.push(t);
    return t;
  };
  const prepare = (t: tf.TensorInfo, p: EinsumOperandPlan): tf.TensorInfo => {
    let cur = t;
    if (p.sumAxes.length > 0) cur = run('Sum', { x: cur }, { axis: p.sumAxes, keepDims: false });
    if (p.perm) cur = run('Transpose', { x: cur }, { perm: p.perm });
    return run('Reshape', { x: cur }, { shape: p.shape3 });
  };
  let result: tf.TensorInfo | undefined;
  try {
    const a3 = prepare(x, plan.a);
    const b3 = prepare(y, plan.b);
    let cur = run('BatchMatMul', { a: a3, b: b3 }, { transposeA: false, transposeB: false });
    if (plan.outPerm) {
      cur = run('Reshape', { x: cur }, { shape: plan.productShape });
      cur = run('Transpose', { x: cur }, { perm: plan.outPerm });
    }
    result = run('Reshape', { x: cur }, { shape: plan.outShape });
    return result;
  } finally {
    // Every intermediate holds one reference (Reshape increments the count of the data it
    // shares), so disposing each once frees exactly what we created.
    const b = backend as BackendWithDispose;
    for (const t of temps) if (t !== result) b.disposeData(t.dataId);
  }
}

/**
 * Registers the `Einsum` kernel on the wasm backend (idempotent). tfjs-backend-wasm 4.22 has
 * none; MAXIM graphs use `abcg,gf->abcf`, `abgd,gf->abdf` and `gb,cgef->bcef`.
 */
export function registerWasmEinsum(): void {
  if (tf.getKernel('Einsum', 'wasm')) return;
  tf.registerKernel({ kernelName: 'Einsum', backendName: 'wasm', kernelFunc: wasmEinsumKernel });
}

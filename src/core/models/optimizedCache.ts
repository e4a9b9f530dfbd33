/**
 * Session creation from a saved optimised graph. onnxruntime spends most of a MAXIM session's
 * creation optimising the graph (256x256, one thread, CPU time: level 'all' 1.45 s, 'disabled'
 * 0.35 s); the graph it optimised at level 'extended' can be saved (optimizedModelFilePath) and
 * a later session created from it with optimisation off: 0.27 s, and its runs were as fast as
 * level 'all' (4.11 s against 4.25 s; `npm run bench:quant`, docs/benchmarks/quant.json).
 * 'extended' and not 'all': the 'all' graph holds layout changes for this CPU (onnxruntime warns
 * it is hardware specific); the 'extended' one is portable between CPUs, but not between
 * onnxruntime versions, so the version is part of the file name. CPU only: the CUDA provider
 * places nodes differently.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { InferenceSession, ORT_VERSION, type RuntimeOptions } from '../runtime/index.js';

/** Where the optimised graph of a cached ONNX file lives: beside it, tagged with onnxruntime's version. */
export function optimizedPathFor(onnxPath: string): string {
  return `${onnxPath.replace(/\.onnx$/, '')}-ort${ORT_VERSION}-ext.onnx`;
}

const exists = (p: string) =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * A session for `bytes` (whose cache file is `onnxPath`): from the saved optimised graph when
 * there is one, else optimised now and saved (temp + rename, so a concurrent process never reads
 * half a file). Any failure with the saved graph falls back to the bytes at level 'all'.
 */
export async function createOptimizedSession(bytes: Uint8Array, onnxPath: string | undefined, options: RuntimeOptions): Promise<InferenceSession> {
  if (!onnxPath || (options.device ?? 'cpu') !== 'cpu') return InferenceSession.create(bytes, options);
  const saved = optimizedPathFor(onnxPath);
  if (await exists(saved)) {
    try {
      return await InferenceSession.create(saved, options, { level: 'disabled' });
    } catch {
      await rm(saved, { force: true }); // damaged or from elsewhere: made again below
    }
  }
  const temp = `${saved}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const first = await InferenceSession.create(bytes, options, { level: 'extended', saveOptimizedTo: temp });
    await first.dispose();
    await rename(temp, saved);
    return await InferenceSession.create(saved, options, { level: 'disabled' });
  } catch {
    await rm(temp, { force: true });
    return InferenceSession.create(bytes, options);
  }
}

import type { RawImage } from '../core/image/types.js';
import { l2Normalize } from './compare.js';
import { INPUT_SIZE, type FaceModels } from './models.js';
import { sampleSquare, type SquareRegion } from './sample.js';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';

/** Length of the faceres description vector. */
export const EMBEDDING_SIZE = 1024;

/**
 * 1024-d identity description of the face in `region` (the roll-corrected 1.4x detector square),
 * L2-normalised. faceres (HSE FaceRes, via Human) takes 224x224 RGB in [0, 255] and returns its
 * global-pooling layer as the descriptor.
 */
export async function embedRegion(models: FaceModels, img: RawImage, region: SquareRegion): Promise<Float32Array> {
  const size = INPUT_SIZE.embed;
  const input = sampleSquare(img, region, size, 255);
  const outs = await models.runner('embed').run(input, size);
  const desc = outs.find((o) => o.length === EMBEDDING_SIZE);
  if (!desc) throw new ClearsightError(ERROR_CODES.RUNTIME, `faceres returned no ${EMBEDDING_SIZE}-value output`);
  return l2Normalize(Float32Array.from(desc));
}

/**
 * The two single-frame anti-spoofing CNNs shipped with Human, on the face square:
 * `antispoof` (128x128, sigmoid; Human reports it as "real" probability) and `liveness`
 * (32x32, two-way softmax, first value = live). Both take RGB in [0, 1].
 */
export async function spoofCnnScores(models: FaceModels, img: RawImage, region: SquareRegion): Promise<{ antispoof: number; liveness: number }> {
  const a = INPUT_SIZE.antispoof;
  const l = INPUT_SIZE.liveness;
  const [as] = await models.runner('antispoof').run(sampleSquare(img, region, a), a);
  const [lv] = await models.runner('liveness').run(sampleSquare(img, region, l), l);
  return { antispoof: as![0]!, liveness: lv![0]! };
}

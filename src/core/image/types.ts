/**
 * RawImage: the one in-memory picture type of the library.
 *
 * - `data` is Float32, interleaved HWC, row-major: sample (x, y, c) is at
 *   `(y * width + x) * channels + c`.
 * - Values are nominally in [0, 1] (0 = black, 1 = full scale of the source bit depth).
 *   Intermediate results may leave that range; encoders clamp.
 * - Colour channels are sRGB-encoded (no linearisation) unless a function says otherwise.
 * - channels: 1 (grey), 3 (RGB). Alpha is never mixed into restoration: decoders split it
 *   off into `DecodedImage.alpha` and encoders put it back.
 */
import { ClearsightError, ERROR_CODES } from '../errors.js';
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Float32Array;
}

/** Creates a zero-filled RawImage (or wraps `data`, checking its length). */
export function createImage(width: number, height: number, channels: 1 | 3 = 3, data?: Float32Array): RawImage {
  const length = width * height * channels;
  if (data && data.length !== length) {
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `RawImage data length ${data.length} does not match ${width}x${height}x${channels} = ${length}`);
  }
  return { width, height, channels, data: data ?? new Float32Array(length) };
}

/** The picture as RGB: a grey picture's value copied to all three channels; RGB returned as is. */
export function toRgb(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = img.data[i];
  return { width: img.width, height: img.height, channels: 3, data };
}

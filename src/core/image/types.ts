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
    throw new RangeError(`RawImage data length ${data.length} does not match ${width}x${height}x${channels} = ${length}`);
  }
  return { width, height, channels, data: data ?? new Float32Array(length) };
}

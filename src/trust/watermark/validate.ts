import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import type { RawImage } from '../../core/image/types.js';

/** Checks a RawImage argument and the minimum short side for an operation. */
export function checkImage(img: RawImage, minSide: number, what: string): void {
  if (typeof img !== 'object' || img === null || !(img.data instanceof Float32Array) || (img.channels !== 1 && img.channels !== 3)) {
    throw invalidOption('img', 'a RawImage {width, height, channels: 1|3, data: Float32Array}', img === null ? null : typeof img);
  }
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.data.length !== img.width * img.height * img.channels) {
    throw invalidOption(
      'img',
      'a RawImage whose data length is width*height*channels',
      `${img.width}x${img.height}x${img.channels} with ${img.data.length} values`,
    );
  }
  if (Math.min(img.width, img.height) < minSide) {
    throw new ClearsightError(
      ERROR_CODES.INPUT_TOO_SMALL,
      `Image ${img.width}x${img.height} is too small for watermark ${what}: both sides must be at least ${minSide} pixels`,
      { width: img.width, height: img.height, minSide },
    );
  }
}

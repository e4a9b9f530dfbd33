/**
 * Dark channel (He, Sun & Tang, "Single Image Haze Removal Using Dark Channel Prior", CVPR 2009 /
 * TPAMI 2011): D(x) = min over the patch around x of min over c of I_c. In haze-free outdoor
 * images it is close to 0 almost everywhere; haze (airlight) lifts it.
 */
import { invalidOption } from '../errors.js';
import type { RawImage } from '../image/types.js';
import { checkRadius } from './check.js';
import { minFilterInto } from './minFilter.js';

/**
 * Per-pixel minimum over the channels of `img`, then a (2r+1)x(2r+1) minimum filter
 * (van Herk/Gil-Werman, O(N)). Returns a width*height plane. Grey images use their one channel.
 */
export function darkChannel(img: RawImage, radius: number): Float32Array {
  checkImage(img);
  checkRadius('radius', radius);
  const m = minOverChannels(img);
  minFilterInto(m, img.width, img.height, radius, m);
  return m;
}

/** Per-pixel min over channels (a copy of the plane for grey images). */
export function minOverChannels(img: RawImage): Float32Array {
  const n = img.width * img.height;
  const d = img.data;
  if (img.channels === 1) return Float32Array.from(d.subarray(0, n));
  const m = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = d[j];
    const g = d[j + 1];
    const b = d[j + 2];
    const rg = r < g ? r : g;
    m[i] = rg < b ? rg : b;
  }
  return m;
}

/** A well-formed RawImage: integer size >= 1, 1 or 3 channels, data of the right length. */
export function checkImage(img: RawImage, name = 'img'): void {
  if (img === null || typeof img !== 'object') throw invalidOption(name, 'a RawImage', img);
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || width < 1) throw invalidOption(`${name}.width`, 'an integer >= 1', width);
  if (!Number.isInteger(height) || height < 1) throw invalidOption(`${name}.height`, 'an integer >= 1', height);
  if (channels !== 1 && channels !== 3) throw invalidOption(`${name}.channels`, '1 or 3', channels);
  if (!(data instanceof Float32Array) || data.length !== width * height * channels) {
    throw invalidOption(
      `${name}.data`,
      `a Float32Array of ${width * height * channels} samples`,
      data instanceof Float32Array ? `${data.length} samples` : typeof data,
    );
  }
}

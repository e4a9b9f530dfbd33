/**
 * Which low-light method suits an input (issue 20). Measured on DICM and LIME (384 px crops,
 * one tile, so not a tiling effect; input range checked by the parity tests): the LOL-trained
 * MAXIM expert brightens every pixel by a factor of roughly 2.5 to 7, whatever is already lit,
 * so any region above about a third of full scale is pushed into clipping (DICM 01: 1.5 % of the
 * pixels clipped in, 16.4 % out; DICM 05, a sunset: 34.5 % -> 73.5 %; LIME 1: 0 % -> 4.2 %),
 * while on uniformly dark input it is by far the better method (DICM 12, mean 0.024: clean,
 * where the gamma amplifies JPEG noise into green blotches). So the expert alone is chosen only
 * when almost nothing is lit; otherwise the fusion (lowlightFuse: expert in the dark regions,
 * gamma where the photo is lit), which keeps lit regions from clipping.
 */
import type { RawImage } from '../../core/image/types.js';

/** A pixel whose largest channel reaches this is "lit": the expert's gain would clip it. */
export const LIT_LEVEL = 0.3;
/** Largest fraction of lit pixels for which the expert alone is chosen. */
export const MAX_LIT_FRACTION = 0.02;

/** Fraction of pixels whose largest channel is >= `level` (grey: the value itself). */
export function litFraction(img: RawImage, level = LIT_LEVEL): number {
  const { width, height, channels, data } = img;
  const n = width * height;
  let lit = 0;
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    let m = data[j]!;
    for (let c = 1; c < channels; c++) if (data[j + c]! > m) m = data[j + c]!;
    if (m >= level) lit++;
  }
  return n === 0 ? 0 : lit / n;
}

/** 'learned' when at most MAX_LIT_FRACTION of the pixels are lit, else 'fuse' (see the module comment). */
export function chooseLowlightMethod(img: RawImage): 'learned' | 'fuse' {
  return litFraction(img) <= MAX_LIT_FRACTION ? 'learned' : 'fuse';
}

/**
 * Quality measures of HDR outputs used by bench/hdr.ts (issue 20, shadow colour noise; the
 * definitions of /work/notes/issue-20-part2.md section 2):
 *
 * - shadows: the darkest quarter of the reference exposure's CIE L* (pixels with L* > 0.5);
 * - the middle exposure "pushed": the reference frame with a linear gain (on sRGB-decoded values)
 *   that brings its mean shadow luminance to the output's: what the single frame shows at the
 *   same brightness;
 * - chroma noise: robust sigma (1.4826 MAD) of CIELAB a* and b* minus their 3x3 mean over the
 *   shadow pixels, combined as sqrt(sa^2 + sb^2), times 9/8 (the 3x3 mean contains the pixel);
 * - speckle: shadow pixels whose (a*, b*) is more than 10 from the per-channel 3x3 median, per
 *   10 000 shadow pixels (the MAD ignores sparse outliers by design; speckle is exactly those).
 * - dots (issue 20, w5): the speckle pixels whose 8 neighbours agree with each other (their a* and
 *   b* ranges within 10 combined): an isolated coloured dot on an even surround. The rest of the
 *   speckle pixels sit where two colours meet. On memorial the speckle measure mostly counts such
 *   colour edges of the scene: the 16 s and 2 s exposures, which see the shadows well, pushed to the
 *   same luminance score 27 and 59 per 10 000 with 0 and 0.2 dots, while the middle exposure scores
 *   1.3 only because its shadows (codes 13-20) carry no colour at all.
 */
import { createImage, type RawImage } from '../../src/core/image/types.js';

const lin = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const enc = (v: number) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
const labF = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);

/** CIELAB L*, a*, b* (D65) of an sRGB image in [0, 1]. */
export function lab(img: RawImage): { L: Float32Array; a: Float32Array; b: Float32Array; Y: Float32Array } {
  const n = img.width * img.height;
  const L = new Float32Array(n);
  const A = new Float32Array(n);
  const B = new Float32Array(n);
  const Yp = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const R = lin(Math.min(1, Math.max(0, img.data[i * 3]!)));
    const G = lin(Math.min(1, Math.max(0, img.data[i * 3 + 1]!)));
    const Bl = lin(Math.min(1, Math.max(0, img.data[i * 3 + 2]!)));
    const X = (0.4124 * R + 0.3576 * G + 0.1805 * Bl) / 0.95047;
    const Y = 0.2126 * R + 0.7152 * G + 0.0722 * Bl;
    const Z = (0.0193 * R + 0.1192 * G + 0.9505 * Bl) / 1.08883;
    A[i] = 500 * (labF(X) - labF(Y));
    B[i] = 200 * (labF(Y) - labF(Z));
    L[i] = 116 * labF(Y) - 16;
    Yp[i] = Y;
  }
  return { L, a: A, b: B, Y: Yp };
}

/** 1 on the darkest quarter of the reference's L* (L* > 0.5). */
export function shadowPixels(reference: RawImage): Uint8Array {
  const { L } = lab(reference);
  const q = Float32Array.from(L).sort()[Math.floor(L.length * 0.25)]!;
  return Uint8Array.from(L, (v) => (v <= q && v > 0.5 ? 1 : 0));
}

/** The reference pushed by a linear gain to the output's mean shadow luminance. */
export function pushedReference(reference: RawImage, output: RawImage, pick: Uint8Array): { image: RawImage; gain: number } {
  const yo = lab(output).Y;
  const yr = lab(reference).Y;
  let so = 0;
  let sr = 0;
  for (let i = 0; i < pick.length; i++)
    if (pick[i]) {
      so += yo[i]!;
      sr += yr[i]!;
    }
  const gain = so / sr;
  return {
    image: createImage(
      reference.width,
      reference.height,
      3,
      reference.data.map((v) => Math.min(1, enc(lin(v) * gain))),
    ),
    gain,
  };
}

export function chromaNoise(img: RawImage, pick: Uint8Array): number {
  const { a, b } = lab(img);
  const w = img.width;
  const h = img.height;
  const dev: [number[], number[]] = [[], []];
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (!pick[i]) continue;
      for (const [k, P] of [a, b].entries()) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += P[i + dy * w + dx]!;
        dev[k]!.push(Math.abs(P[i]! - s / 9));
      }
    }
  const med = (v: number[]) => v.sort((p, q) => p - q)[v.length >> 1]!;
  return (Math.hypot(1.4826 * med(dev[0]), 1.4826 * med(dev[1])) * 9) / 8;
}

/** Speckle per 10 000 shadow pixels. */
export function speckle(img: RawImage, pick: Uint8Array): number {
  return speckleAndDots(img, pick).speckle;
}

/** Speckle and isolated dots (neighbours uniform) per 10 000 shadow pixels. */
export function speckleAndDots(img: RawImage, pick: Uint8Array): { speckle: number; dots: number } {
  const { a, b } = lab(img);
  const w = img.width;
  const h = img.height;
  let k = 0;
  let dots = 0;
  let count = 0;
  const va = new Float32Array(9);
  const vb = new Float32Array(9);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (!pick[i]) continue;
      count++;
      let m = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          va[m] = a[i + dy * w + dx]!;
          vb[m++] = b[i + dy * w + dx]!;
        }
      if (Math.hypot(a[i]! - median9(va), b[i]! - median9(vb)) <= 10) continue;
      k++;
      if (neighboursAgree(a, b, i, w)) dots++;
    }
  return { speckle: (1e4 * k) / count, dots: (1e4 * dots) / count };
}

function median9(v: Float32Array): number {
  v.sort();
  return v[4]!;
}

/** The 8 neighbours' a* and b* ranges, combined (hypot), are within 10. */
function neighboursAgree(a: Float32Array, b: Float32Array, i: number, w: number): boolean {
  let a0 = Infinity,
    a1 = -Infinity,
    b0 = Infinity,
    b1 = -Infinity;
  for (let dy = -1; dy <= 1; dy++)
    for (let dx = -1; dx <= 1; dx++) {
      if (dx === 0 && dy === 0) continue;
      const j = i + dy * w + dx;
      a0 = Math.min(a0, a[j]!);
      a1 = Math.max(a1, a[j]!);
      b0 = Math.min(b0, b[j]!);
      b1 = Math.max(b1, b[j]!);
    }
  return Math.hypot(a1 - a0, b1 - b0) <= 10;
}

/**
 * All shadow figures of a tone-mapped output against its bracket's reference frame; with `longest`
 * (the longest exposure, which sees the shadows best) also its speckle and dots pushed the same way.
 */
export function shadowColourNoise(
  output: RawImage,
  reference: RawImage,
  longest?: RawImage,
): {
  shadowPixels: number;
  gain: number;
  chromaNoise: number;
  chromaNoiseMiddle: number;
  speckle: number;
  speckleMiddle: number;
  dots: number;
  dotsMiddle: number;
  speckleLongest?: number;
  dotsLongest?: number;
} {
  const pick = shadowPixels(reference);
  const { image: pushed, gain } = pushedReference(reference, output, pick);
  const ours = speckleAndDots(output, pick);
  const middle = speckleAndDots(pushed, pick);
  const long = longest ? speckleAndDots(pushedReference(longest, output, pick).image, pick) : undefined;
  return {
    shadowPixels: pick.reduce((s, v) => s + v, 0),
    gain,
    chromaNoise: chromaNoise(output, pick),
    chromaNoiseMiddle: chromaNoise(pushed, pick),
    speckle: ours.speckle,
    speckleMiddle: middle.speckle,
    dots: ours.dots,
    dotsMiddle: middle.dots,
    ...(long ? { speckleLongest: long.speckle, dotsLongest: long.dots } : {}),
  };
}

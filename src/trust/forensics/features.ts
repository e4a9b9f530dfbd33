/**
 * Hand-made forensic features of a square face crop and its face mask, chosen for what a
 * blended face leaves behind:
 * - noise and sharpness mismatch: high-pass residual level and Laplacian energy inside the face,
 *   on either side of the face boundary and outside it (a pasted face was resampled, denoised
 *   or sharpened differently from the frame it was pasted into);
 * - colour mismatch across the boundary (Cb, Cr, Y on the inner vs the outer side of the ring);
 * - gradient structure on the ring (blending makes a soft seam or a hard edge along the hull);
 * - the azimuthally averaged power spectrum of the luminance (resampling removes high
 *   frequencies; GAN upsampling adds periodic peaks).
 * All are ratios or differences of statistics of the same crop, so they do not depend on the
 * crop's overall brightness or size.
 */
import { radialPowerSpectrum } from '../../core/fft.js';
import { boxFilter } from '../../core/filters/index.js';
import type { RawImage } from '../../core/image/types.js';
import { luma601 } from '../../core/colour.js';

/** Side of the square crop features are computed on (a power of two for the FFT). */
export const FEATURE_CROP = 128;
export const SPECTRUM_BINS = 12;

export const FEATURE_NAMES: readonly string[] = [
  'noise inner/outer',
  'noise ring-in/ring-out',
  'noise ring/(inner+outer)',
  'laplacian inner/outer',
  'laplacian ring-in/ring-out',
  'noise2x inner/outer',
  'noise2x ring-in/ring-out',
  'Cb ring-in - ring-out',
  'Cr ring-in - ring-out',
  'Y ring-in - ring-out',
  '|Cb| + |Cr| ring gap',
  'gradient ring/all',
  'gradient ring-in/ring-out',
  'gradient ring sd/mean',
  ...Array.from({ length: SPECTRUM_BINS }, (_, b) => `log power band ${b + 1}/${SPECTRUM_BINS}`),
  'spectrum slope (high/low)',
  // Profiles across the face boundary: bands 0-3 px and 3-8 px inside (in1, in2) and outside
  // (out1, out2). A soft blending mask mixes two differently filtered sources over these bands.
  'noise in2/in1',
  'noise in1/out1',
  'noise out1/out2',
  'laplacian in2/in1',
  'laplacian in1/out1',
  'laplacian out1/out2',
  'Cb in1 - out1',
  'Cr in1 - out1',
];

interface Planes {
  y: Float32Array;
  cb: Float32Array;
  cr: Float32Array;
}

function toPlanes(img: RawImage): Planes {
  const n = img.width * img.height;
  const y = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  const d = img.data;
  for (let p = 0; p < n; p++) {
    const r = d[p * 3];
    const g = d[p * 3 + 1];
    const b = d[p * 3 + 2];
    y[p] = luma601(r, g, b);
    cb[p] = 0.564 * (b - y[p]);
    cr[p] = 0.713 * (r - y[p]);
  }
  return { y, cb, cr };
}

/** |x - local mean| (3x3): a cheap high-pass residual dominated by noise and fine texture. */
function residual(plane: Float32Array, w: number, h: number): Float32Array {
  const m = boxFilter(plane, w, h, 1);
  return plane.map((v, i) => Math.abs(v - m[i]));
}

function laplacianEnergy(plane: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const l = 4 * plane[i] - plane[i - 1] - plane[i + 1] - plane[i - w] - plane[i + w];
      out[i] = l * l;
    }
  }
  return out;
}

function gradient(plane: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      out[i] = Math.hypot(plane[i + 1] - plane[i - 1], plane[i + w] - plane[i - w]);
    }
  }
  return out;
}

/** 2x2 mean downsample of a plane (w, h even). */
function half(plane: Float32Array, w: number, h: number): Float32Array {
  const hw = w >> 1;
  const out = new Float32Array(hw * (h >> 1));
  for (let y = 0; y < h >> 1; y++) {
    for (let x = 0; x < hw; x++) {
      const i = 2 * y * w + 2 * x;
      out[y * hw + x] = 0.25 * (plane[i] + plane[i + 1] + plane[i + w] + plane[i + w + 1]);
    }
  }
  return out;
}

type Region = Uint8Array;

/** Inner (deep inside), outer (well outside), ring-in and ring-out regions of a face mask. */
function regions(mask: Float32Array, w: number, h: number, ring: number): { inner: Region; outer: Region; ringIn: Region; ringOut: Region; ring: Region } {
  const soft = boxFilter(mask, w, h, ring);
  const n = w * h;
  const inner = new Uint8Array(n);
  const outer = new Uint8Array(n);
  const ringIn = new Uint8Array(n);
  const ringOut = new Uint8Array(n);
  const ringAll = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = soft[i];
    if (s >= 0.999) inner[i] = 1;
    else if (s <= 0.001) outer[i] = 1;
    else {
      ringAll[i] = 1;
      if (mask[i] >= 0.5) ringIn[i] = 1;
      else ringOut[i] = 1;
    }
  }
  return { inner, outer, ringIn, ringOut, ring: ringAll };
}

function meanIn(plane: Float32Array, region: Region): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < plane.length; i++) {
    if (region[i]) {
      s += plane[i];
      n++;
    }
  }
  return n > 0 ? s / n : 0;
}

function sdIn(plane: Float32Array, region: Region, mean: number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < plane.length; i++) {
    if (region[i]) {
      s += (plane[i] - mean) ** 2;
      n++;
    }
  }
  return n > 1 ? Math.sqrt(s / (n - 1)) : 0;
}

const EPS = 1e-6;
const logRatio = (a: number, b: number): number => Math.log((a + EPS) / (b + EPS));

/** Downsamples a region mask 2x (a pixel is in when all four are). */
function halfRegion(r: Region, w: number, h: number): Region {
  const hw = w >> 1;
  const out = new Uint8Array(hw * (h >> 1));
  for (let y = 0; y < h >> 1; y++) {
    for (let x = 0; x < hw; x++) {
      const i = 2 * y * w + 2 * x;
      out[y * hw + x] = r[i] & r[i + 1] & r[i + w] & r[i + w + 1];
    }
  }
  return out;
}

/** Bands 0-3 px and 3-8 px inside and outside the mask boundary (at FEATURE_CROP scale). */
function boundaryBands(mask: Float32Array, w: number, h: number): { in1: Region; in2: Region; out1: Region; out2: Region } {
  const s3 = boxFilter(mask, w, h, 3);
  const s8 = boxFilter(mask, w, h, 8);
  const n = w * h;
  const in1 = new Uint8Array(n);
  const in2 = new Uint8Array(n);
  const out1 = new Uint8Array(n);
  const out2 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (mask[i] >= 0.5) {
      if (s3[i] < 0.999) in1[i] = 1;
      else if (s8[i] < 0.999) in2[i] = 1;
    } else if (s3[i] > 0.001) out1[i] = 1;
    else if (s8[i] > 0.001) out2[i] = 1;
  }
  return { in1, in2, out1, out2 };
}

/**
 * The feature vector (FEATURE_NAMES order) of a FEATURE_CROP-square RGB face crop and its
 * face mask (1 inside the face hull, same size).
 */
export function forensicFeatures(crop: RawImage, faceMask: Float32Array): number[] {
  const w = crop.width;
  const h = crop.height;
  const { y, cb, cr } = toPlanes(crop);
  const reg = regions(faceMask, w, h, Math.max(2, Math.round(w / 32)));

  const res = residual(y, w, h);
  const lap = laplacianEnergy(y, w, h);
  const y2 = half(y, w, h);
  const res2 = residual(y2, w >> 1, h >> 1);
  const inner2 = halfRegion(reg.inner, w, h);
  const outer2 = halfRegion(reg.outer, w, h);
  const ringIn2 = halfRegion(reg.ringIn, w, h);
  const ringOut2 = halfRegion(reg.ringOut, w, h);
  const grad = gradient(y, w, h);
  const all = new Uint8Array(w * h).fill(1);

  const gRing = meanIn(grad, reg.ring);
  const spectrum = radialPowerSpectrum(y, w, SPECTRUM_BINS);
  const total = spectrum.reduce((a, b) => a + b, 0) + EPS;
  const logBands = Array.from(spectrum, (p) => Math.log(p / total + 1e-12));
  const lowBand = (logBands[1] + logBands[2]) / 2;
  const highBand = (logBands[SPECTRUM_BINS - 2] + logBands[SPECTRUM_BINS - 1]) / 2;

  const cbGap = meanIn(cb, reg.ringIn) - meanIn(cb, reg.ringOut);
  const bands = boundaryBands(faceMask, w, h);
  const crGap = meanIn(cr, reg.ringIn) - meanIn(cr, reg.ringOut);
  return [
    logRatio(meanIn(res, reg.inner), meanIn(res, reg.outer)),
    logRatio(meanIn(res, reg.ringIn), meanIn(res, reg.ringOut)),
    logRatio(meanIn(res, reg.ring), (meanIn(res, reg.inner) + meanIn(res, reg.outer)) / 2),
    logRatio(meanIn(lap, reg.inner), meanIn(lap, reg.outer)),
    logRatio(meanIn(lap, reg.ringIn), meanIn(lap, reg.ringOut)),
    logRatio(meanIn(res2, inner2), meanIn(res2, outer2)),
    logRatio(meanIn(res2, ringIn2), meanIn(res2, ringOut2)),
    cbGap,
    crGap,
    meanIn(y, reg.ringIn) - meanIn(y, reg.ringOut),
    Math.abs(cbGap) + Math.abs(crGap),
    logRatio(gRing, meanIn(grad, all)),
    logRatio(meanIn(grad, reg.ringIn), meanIn(grad, reg.ringOut)),
    sdIn(grad, reg.ring, gRing) / (gRing + EPS),
    ...logBands,
    highBand - lowBand,
    logRatio(meanIn(res, bands.in2), meanIn(res, bands.in1)),
    logRatio(meanIn(res, bands.in1), meanIn(res, bands.out1)),
    logRatio(meanIn(res, bands.out1), meanIn(res, bands.out2)),
    logRatio(meanIn(lap, bands.in2), meanIn(lap, bands.in1)),
    logRatio(meanIn(lap, bands.in1), meanIn(lap, bands.out1)),
    logRatio(meanIn(lap, bands.out1), meanIn(lap, bands.out2)),
    meanIn(cb, bands.in1) - meanIn(cb, bands.out1),
    meanIn(cr, bands.in1) - meanIn(cr, bands.out1),
  ];
}

/**
 * 1-D signal tools for liveness: zero-phase Butterworth band-pass, periodogram, and the
 * POS remote-photoplethysmography projection (Wang et al. 2017, "Algorithmic principles of
 * remote PPG"). Pure functions on plain number arrays.
 */
import { mulberry32 } from '../../core/random.js';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';

/** Heart-rate band: 0.7-4 Hz = 42-240 beats per minute. */
export const HEART_BAND: readonly [number, number] = [0.7, 4];

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** RBJ-cookbook biquads: a 2nd-order Butterworth high-pass and low-pass (Q = 1/sqrt 2). */
function biquad(kind: 'low' | 'high', f: number, fs: number): Biquad {
  const w = (2 * Math.PI * f) / fs;
  const alpha = Math.sin(w) / Math.SQRT2;
  const c = Math.cos(w);
  const a0 = 1 + alpha;
  const b = kind === 'low' ? [(1 - c) / 2, 1 - c, (1 - c) / 2] : [(1 + c) / 2, -(1 + c), (1 + c) / 2];
  return { b0: b[0]! / a0, b1: b[1]! / a0, b2: b[2]! / a0, a1: (-2 * c) / a0, a2: (1 - alpha) / a0 };
}

function runBiquad(q: Biquad, x: readonly number[]): number[] {
  const y = new Array<number>(x.length);
  // start in steady state for the first sample (avoids a step transient at the clip start)
  let x1 = x[0] ?? 0,
    x2 = x1,
    y1 = 0,
    y2 = 0;
  const dcGain = (q.b0 + q.b1 + q.b2) / (1 + q.a1 + q.a2);
  y1 = y2 = x1 * dcGain;
  for (let i = 0; i < x.length; i++) {
    const v = q.b0 * x[i]! + q.b1 * x1 + q.b2 * x2 - q.a1 * y1 - q.a2 * y2;
    x2 = x1;
    x1 = x[i]!;
    y2 = y1;
    y1 = v;
    y[i] = v;
  }
  return y;
}

/**
 * Zero-phase band-pass [lo, hi] Hz: 2nd-order Butterworth high-pass and low-pass, run forward
 * then backward (filtfilt), so the pass band keeps its timing (decisive frames stay aligned)
 * and the magnitude response is squared (4th order overall).
 */
export function bandPass(x: readonly number[], fs: number, lo: number, hi: number): number[] {
  if (!(fs > 0) || !(lo > 0) || !(hi > lo))
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `bandPass needs fs > 0 and 0 < lo < hi (got fs ${fs}, ${lo}-${hi} Hz)`);
  if (x.length < 3) return x.map(() => 0);
  const hiEdge = Math.min(hi, 0.45 * fs);
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  let y = x.map((v) => v - mean);
  const stages = [biquad('high', lo, fs), ...(hiEdge > lo ? [biquad('low', hiEdge, fs)] : [])];
  for (const q of stages) y = runBiquad(q, y);
  y.reverse();
  for (const q of stages) y = runBiquad(q, y);
  return y.reverse();
}

/** Power at each frequency of `freqs` (Hz) by direct DFT with a Hann window. */
export function periodogram(x: readonly number[], fs: number, freqs: readonly number[]): number[] {
  const n = x.length;
  const mean = x.reduce((s, v) => s + v, 0) / Math.max(1, n);
  const w = x.map((v, i) => (v - mean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / Math.max(1, n - 1))));
  return freqs.map((f) => {
    let re = 0,
      im = 0;
    const k = (2 * Math.PI * f) / fs;
    for (let i = 0; i < n; i++) {
      re += w[i]! * Math.cos(k * i);
      im -= w[i]! * Math.sin(k * i);
    }
    return (re * re + im * im) / n;
  });
}

export interface PulseEstimate {
  /** Dominant frequency in the heart band, beats per minute. */
  bpm: number;
  /**
   * Share of the 0.3-6 Hz power that lies within +-0.15 Hz (and its first harmonic) of the
   * heart-band peak: ~1 for a clean periodic pulse, ~0.1 for white noise.
   */
  snr: number;
  /** Share of 0.3-6 Hz power inside the heart band 0.7-4 Hz. */
  bandEnergyRatio: number;
  /**
   * The heart-band maximum is also a local maximum of the whole 0.3-6 Hz spectrum. A slow drift
   * (a still picture's tracker jitter, lighting creep) falls off from below the band, so its
   * "peak" sits on the band's lower edge and is no pulse: a still face looped for 6 s read 42 bpm
   * at SNR 0.38 without this check.
   */
  localPeak: boolean;
}

/** Dominant heart-band frequency and how concentrated the power is around it. */
export function pulseFromSignal(x: readonly number[], fs: number): PulseEstimate {
  const step = Math.min(0.02, fs / Math.max(8, x.length) / 4);
  const freqs: number[] = [];
  for (let f = 0.3; f <= Math.min(6, fs / 2); f += step) freqs.push(f);
  const p = periodogram(x, fs, freqs);
  const total = p.reduce((s, v) => s + v, 0) || 1e-30;
  let best = -1,
    bestF = 0,
    bestI = -1,
    band = 0;
  freqs.forEach((f, i) => {
    if (f >= HEART_BAND[0] && f <= HEART_BAND[1]) {
      band += p[i]!;
      if (p[i]! > best) {
        best = p[i]!;
        bestF = f;
        bestI = i;
      }
    }
  });
  const near = freqs.reduce((s, f, i) => s + (Math.abs(f - bestF) <= 0.15 || Math.abs(f - 2 * bestF) <= 0.15 ? p[i]! : 0), 0);
  const localPeak = bestI > 0 && bestI < p.length - 1 && p[bestI - 1]! < best && p[bestI + 1]! <= best;
  return { bpm: bestF * 60, snr: near / total, bandEnergyRatio: band / total, localPeak };
}

export interface PulseReading extends PulseEstimate {
  /**
   * The SNR this clip's length and frame rate reach without any pulse: the 99th percentile of the
   * same statistic on POS of pure sensor noise (seeded, so the same clip always gets the same bar).
   */
  minSnr: number;
  /** snr > minSnr and the peak is a local maximum (localPeak): only then is `bpm` worth printing. */
  reliable: boolean;
}

/**
 * Pulse estimate with a significance bar. The concentration ratio never reaches 0 on noise: POS
 * of pure colour noise at 30 fps reads a median SNR of 0.12-0.18 and a 99th percentile of
 * 0.23-0.35, depending on the clip length (1-10 s). The bar is that 99th percentile, measured
 * by running the same pipeline (POS + periodogram) on `draws` seeded noise clips of this length
 * and frame rate: a pulse counts as measured only when it beats it, at a true spectral peak.
 */
export function assessPulse(rgb: ReadonlyArray<readonly [number, number, number]>, fs: number, draws = 200): PulseReading {
  const est = pulseFromSignal(posPulse(rgb, fs), fs);
  const minSnr = noiseSnrQuantile(rgb.length, fs, 0.99, draws);
  return { ...est, minSnr, reliable: est.snr > minSnr && est.localPeak };
}

/** noiseSnrQuantile results by arguments: it is seeded, so a clip length seen before costs nothing. */
const noiseQuantiles = new Map<string, number>();

/** `q`-quantile of the pulse SNR on POS of white colour noise, n frames at fs (seeded; memoised). */
export function noiseSnrQuantile(n: number, fs: number, q = 0.99, draws = 200): number {
  const key = `${n}|${fs}|${q}|${draws}`;
  let v = noiseQuantiles.get(key);
  if (v === undefined) {
    if (noiseQuantiles.size >= 256) noiseQuantiles.clear();
    v = simulateNoiseSnrQuantile(n, fs, q, draws);
    noiseQuantiles.set(key, v);
  }
  return v;
}

function simulateNoiseSnrQuantile(n: number, fs: number, q: number, draws: number): number {
  const rand = mulberry32(0x5eed + n);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const snrs: number[] = [];
  for (let d = 0; d < draws; d++) {
    // noise around a skin tone (POS divides by the channel means, so they must be positive)
    const rgb = Array.from({ length: n }, () => [0.6 + 0.01 * gauss(), 0.45 + 0.01 * gauss(), 0.35 + 0.01 * gauss()] as [number, number, number]);
    snrs.push(pulseFromSignal(posPulse(rgb, fs), fs).snr);
  }
  snrs.sort((a, b) => a - b);
  return snrs[Math.min(draws - 1, Math.ceil(q * draws) - 1)]!;
}

/**
 * POS projection: per sliding window of ~1.6 s, normalise each colour channel by its mean,
 * project onto the plane orthogonal to skin tone (S1 = G - B, S2 = G + B - 2R), combine
 * h = S1 + (std S1 / std S2) S2, and overlap-add. Returns the pulse signal, one value per frame.
 */
export function posPulse(rgb: ReadonlyArray<readonly [number, number, number]>, fs: number): number[] {
  const n = rgb.length;
  // 1.6 s windows as in the paper, shorter for short clips (at least two windows must fit)
  const win = Math.max(4, Math.min(Math.round(1.6 * fs), Math.floor(n / 2)));
  const h = new Array<number>(n).fill(0);
  if (n < win) return h;
  for (let start = 0; start + win <= n; start++) {
    const mean = [0, 0, 0];
    for (let t = start; t < start + win; t++) for (let c = 0; c < 3; c++) mean[c]! += rgb[t]![c]! / win;
    if (mean.some((m) => m <= 0)) continue;
    const s1: number[] = [],
      s2: number[] = [];
    for (let t = start; t < start + win; t++) {
      const [r, g, b] = [rgb[t]![0] / mean[0]!, rgb[t]![1] / mean[1]!, rgb[t]![2] / mean[2]!];
      s1.push(g - b);
      s2.push(g + b - 2 * r);
    }
    const sd = (v: number[]) => {
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
    };
    const k = sd(s2) > 1e-12 ? sd(s1) / sd(s2) : 0;
    const seg = s1.map((v, i) => v + k * s2[i]!);
    const m = seg.reduce((s, x) => s + x, 0) / seg.length;
    for (let i = 0; i < win; i++) h[start + i]! += seg[i]! - m;
  }
  return h;
}

export function meanStd(x: readonly number[]): { mean: number; std: number } {
  if (x.length === 0) return { mean: 0, std: 0 };
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  return { mean, std: Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length) };
}

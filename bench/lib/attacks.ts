/**
 * Simulated presentation attacks on real face video (print with hand tremor and paper, screen
 * replay with moire/banding/frame repetition, cut-eye print) and a second "camera" for bona fide
 * clips: shared by bench/liveness.ts (one clip, windows) and bench/liveness-people.ts (many people).
 * Seeded through the caller's mulberry32 stream.
 */
import type { RawImage } from '../../src/core/image/types.js';
import { MESH } from '../../src/face/index.js';
import type { FrameObservation } from '../../src/face/liveness/index.js';
// ---------------------------------------------------------------------------------------------
// picture helpers

export const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());
}
export function map(img: RawImage, f: (r: number, g: number, b: number, x: number, y: number) => [number, number, number]): RawImage {
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      const [r, g, b] = f(img.data[i]!, img.data[i + 1]!, img.data[i + 2]!, x, y);
      out[i] = r;
      out[i + 1] = g;
      out[i + 2] = b;
    }
  return { ...img, data: out };
}
/** 65536 standard normal draws (fixed seed, Box-Muller): sensor noise indexes it with 16 random bits. */
const GAUSS_TABLE = (() => {
  let state = 0x9e3779b9;
  const u = () => {
    // mulberry32, inlined so the table does not depend on core/random's stream
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from({ length: 65536 }, () => gauss(u));
})();

/**
 * Camera sensor noise and 8-bit quantisation. One uniform draw gives two normal values (two
 * 16-bit halves into GAUSS_TABLE): a log, a cosine and two draws per value made the attack
 * generators slower than the tracker on 640 px frames.
 */
export function sensor(img: RawImage, r: () => number, sigma: number): RawImage {
  const src = img.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 2) {
    const bits = Math.floor(r() * 4294967296);
    out[i] = Math.round(clamp01(src[i]! + sigma * GAUSS_TABLE[bits & 0xffff]!) * 255) / 255;
    if (i + 1 < src.length) out[i + 1] = Math.round(clamp01(src[i + 1]! + sigma * GAUSS_TABLE[bits >>> 16]!) * 255) / 255;
  }
  return { ...img, data: out };
}
/** bilinear() for the three channels at once, written to out[o..o+2]. */
export function bilinear3(img: RawImage, x: number, y: number, bg: number, out: Float32Array, o: number): void {
  const x0 = Math.floor(x),
    y0 = Math.floor(y),
    fx = x - x0,
    fy = y - y0;
  const { width: w, height: h, data } = img;
  const in0 = y0 >= 0 && y0 < h,
    in1 = y0 + 1 >= 0 && y0 + 1 < h;
  const ok00 = in0 && x0 >= 0 && x0 < w,
    ok01 = in0 && x0 + 1 >= 0 && x0 + 1 < w,
    ok10 = in1 && x0 >= 0 && x0 < w,
    ok11 = in1 && x0 + 1 >= 0 && x0 + 1 < w;
  const p00 = (y0 * w + x0) * 3,
    p10 = p00 + w * 3;
  for (let c = 0; c < 3; c++) {
    const a = ok00 ? data[p00 + c]! : bg,
      b = ok01 ? data[p00 + 3 + c]! : bg,
      d = ok10 ? data[p10 + c]! : bg,
      e = ok11 ? data[p10 + 3 + c]! : bg;
    out[o + c] = (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * d + fx * e);
  }
}
export function bilinear(img: RawImage, x: number, y: number, c: number, bg: number): number {
  const x0 = Math.floor(x),
    y0 = Math.floor(y),
    fx = x - x0,
    fy = y - y0;
  const at = (xx: number, yy: number) => (xx < 0 || yy < 0 || xx >= img.width || yy >= img.height ? bg : img.data[(yy * img.width + xx) * 3 + c]!);
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}
/** Smooth noise field (bilinear upsampled random grid), zero mean, unit-ish amplitude. */
export function smoothField(w: number, h: number, cell: number, r: () => number): Float32Array {
  const gw = Math.ceil(w / cell) + 2,
    gh = Math.ceil(h / cell) + 2;
  const g = Float32Array.from({ length: gw * gh }, () => 2 * r() - 1);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const gx = x / cell,
        gy = y / cell,
        x0 = Math.floor(gx),
        y0 = Math.floor(gy),
        fx = gx - x0,
        fy = gy - y0;
      const v = (i: number, j: number) => g[j * gw + i]!;
      out[y * w + x] = (1 - fy) * ((1 - fx) * v(x0, y0) + fx * v(x0 + 1, y0)) + fy * ((1 - fx) * v(x0, y0 + 1) + fx * v(x0 + 1, y0 + 1));
    }
  return out;
}

export interface Motion {
  tx: number;
  ty: number;
  rot: number;
  scale: number;
}
/** Hand tremor: two sinusoids per parameter with random phases, 0.3-1.2 Hz. */
export function tremor(r: () => number, n: number, fps: number): Motion[] {
  const wave = (amp: number) => {
    const f1 = 0.3 + 0.5 * r(),
      f2 = 0.7 + 0.5 * r(),
      p1 = 2 * Math.PI * r(),
      p2 = 2 * Math.PI * r();
    return (t: number) => amp * (0.7 * Math.sin(2 * Math.PI * f1 * t + p1) + 0.3 * Math.sin(2 * Math.PI * f2 * t + p2));
  };
  const tx = wave(4 + 6 * r()),
    ty = wave(3 + 4 * r()),
    rot = wave((1 + 2 * r()) * (Math.PI / 180)),
    sc = wave(0.01 + 0.02 * r());
  return Array.from({ length: n }, (_, i) => ({ tx: tx(i / fps), ty: ty(i / fps), rot: rot(i / fps), scale: 1 + sc(i / fps) }));
}
/** Point of the photo shown at output pixel (x, y) under motion m (about the frame centre). */
export function inverseMotion(m: Motion, w: number, h: number, x: number, y: number): [number, number] {
  const dx = x - w / 2 - m.tx,
    dy = y - h / 2 - m.ty;
  const c = Math.cos(-m.rot) / m.scale,
    s = Math.sin(-m.rot) / m.scale;
  return [c * dx - s * dy + w / 2, s * dx + c * dy + h / 2];
}
export function forwardMotion(m: Motion, w: number, h: number, x: number, y: number): [number, number] {
  const dx = x - w / 2,
    dy = y - h / 2,
    c = Math.cos(m.rot) * m.scale,
    s = Math.sin(m.rot) * m.scale;
  return [c * dx - s * dy + w / 2 + m.tx, s * dx + c * dy + h / 2 + m.ty];
}

export function printPhoto(photo: RawImage, r: () => number): RawImage {
  const sat = 0.45 + 0.25 * r(),
    lo = 0.06 + 0.06 * r(),
    hi = 0.78 + 0.1 * r();
  const tint = [1.02 + 0.03 * r(), 1, 0.9 + 0.05 * r()];
  const coarse = smoothField(photo.width, photo.height, 6, r),
    fine = Float32Array.from({ length: photo.width * photo.height }, () => 2 * r() - 1);
  return map(photo, (R, G, B, x, y) => {
    const g = 0.299 * R + 0.587 * G + 0.114 * B;
    const tex = 1 + 0.035 * coarse[y * photo.width + x]! + 0.03 * fine[y * photo.width + x]!;
    const f = (v: number, k: number) => clamp01((lo + (hi - lo) * (g + sat * (v - g))) * tint[k]! * tex);
    return [f(R, 0), f(G, 1), f(B, 2)];
  });
}

export function eyeCentres(o: FrameObservation): Array<[number, number]> {
  const m = o.landmarks!;
  return [MESH.rightEye, MESH.leftEye].map((idx) => {
    let x = 0,
      y = 0;
    for (const p of idx) {
      x += m[3 * p]!;
      y += m[3 * p + 1]!;
    }
    return [x / idx.length, y / idx.length] as [number, number];
  });
}

export function makePrint(frames: RawImage[], obs: FrameObservation[], fps: number, r: () => number, cutEye: boolean): RawImage[] {
  const mid = frames.length >> 1;
  const paper = printPhoto(frames[mid]!, r);
  const { width: w, height: h } = paper;
  const motion = tremor(r, frames.length, fps);
  const eyesP = eyeCentres(obs[mid]!);
  const m0 = obs[mid]!.landmarks!;
  const eyeW = Math.hypot(m0[3 * 33]! - m0[3 * 133]!, m0[3 * 33 + 1]! - m0[3 * 133 + 1]!);
  const noise = 0.006 + 0.006 * r();
  return frames.map((live, t) => {
    const m = motion[t]!;
    const out = new Float32Array(w * h * 3);
    const holes = cutEye ? eyesP.map((e, k) => ({ at: forwardMotion(m, w, h, e[0], e[1]), live: eyeCentres(obs[t]!)[k]! })) : [];
    // inverseMotion, inlined: the same arithmetic per pixel, without a tuple per pixel
    const ic = Math.cos(-m.rot) / m.scale,
      is = Math.sin(-m.rot) / m.scale;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const dx = x - w / 2 - m.tx,
          dy = y - h / 2 - m.ty;
        const i = (y * w + x) * 3;
        bilinear3(paper, ic * dx - is * dy + w / 2, is * dx + ic * dy + h / 2, 0.12, out, i);
        for (const hole of holes) {
          const ex = (x - hole.at[0]) / (0.75 * eyeW),
            ey = (y - hole.at[1]) / (0.42 * eyeW);
          const d = ex * ex + ey * ey;
          if (d < 1.2) {
            const a = d < 0.8 ? 1 : (1.2 - d) / 0.4; // soft edge of the cut
            const lx = x - hole.at[0] + hole.live[0],
              ly = y - hole.at[1] + hole.live[1];
            for (let c = 0; c < 3; c++) out[i + c] = a * bilinear(live, lx, ly, c, 0) + (1 - a) * out[i + c]!;
          }
        }
      }
    return sensor({ width: w, height: h, channels: 3, data: out }, r, noise);
  });
}

export function makeReplay(frames: RawImage[], r: () => number, halfRate = true): RawImage[] {
  const gamma = 1.15 + 0.25 * r(),
    gain = 0.85 + 0.1 * r();
  const fx = 0.22 + 0.12 * r(),
    fy = 0.05 + 0.1 * r(),
    amp = 0.04 + 0.04 * r();
  const bandAmp = 0.05 + 0.05 * r(),
    bandSpeed = 7 + 10 * r();
  const noise = 0.006 + 0.006 * r();
  // the screen's gamma by table (4096 steps, linear between): three powers per pixel cost more than the rest
  const GAMMA_STEPS = 4096;
  const gammaTable = Float64Array.from({ length: GAMMA_STEPS + 2 }, (_, k) => Math.min(1, k / GAMMA_STEPS) ** gamma);
  const gammaOf = (v: number) => {
    const p = (v <= 0 ? 0 : v >= 1 ? 1 : v) * GAMMA_STEPS,
      k = Math.floor(p);
    return gammaTable[k]! + (p - k) * (gammaTable[k + 1]! - gammaTable[k]!);
  };
  return frames.map((_, t) => {
    const src = frames[halfRate ? t - (t % 2) : t]!; // 15 fps on a 30 fps capture: every frame shown twice
    const { width: w, height: h } = src;
    const phase = 0.3 * t;
    const bandY = (t * bandSpeed) % h;
    // horizontal [1 2 1]/4 blur (screen pixels), then moire x refresh band x gain on gamma-distorted values
    const d = src.data;
    const shown = new Float32Array(d.length);
    // both moire factors are sines of (a x + b y): split by the angle-sum rule into per-column
    // and per-row tables instead of two sines per pixel
    const ax = 2 * Math.PI * fx,
      ay = 2 * Math.PI * fy,
      bx = 2 * Math.PI * 0.03,
      by = -2 * Math.PI * 0.19;
    const sAx = Float64Array.from({ length: w }, (_, x) => Math.sin(ax * x)),
      cAx = Float64Array.from({ length: w }, (_, x) => Math.cos(ax * x)),
      sBx = Float64Array.from({ length: w }, (_, x) => Math.sin(bx * x)),
      cBx = Float64Array.from({ length: w }, (_, x) => Math.cos(bx * x));
    for (let y = 0; y < h; y++) {
      const dy = Math.min(Math.abs(y - bandY), h - Math.abs(y - bandY));
      const band = 1 - bandAmp * Math.exp(-(dy * dy) / (2 * (h / 12) ** 2));
      const sAy = Math.sin(ay * y + phase),
        cAy = Math.cos(ay * y + phase),
        sBy = Math.sin(by * y),
        cBy = Math.cos(by * y);
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3,
          l = (y * w + Math.max(0, x - 1)) * 3,
          rr = (y * w + Math.min(w - 1, x + 1)) * 3;
        const moire = 1 + amp * (sAx[x]! * cAy + cAx[x]! * sAy) * (sBx[x]! * cBy + cBx[x]! * sBy);
        const k = gain * moire * band;
        for (let c = 0; c < 3; c++) shown[i + c] = clamp01(k * gammaOf(0.25 * d[l + c]! + 0.5 * d[i + c]! + 0.25 * d[rr + c]!));
      }
    }
    return sensor({ width: w, height: h, channels: 3, data: shown }, r, noise);
  });
}

export const CROP = 288;
export function cropFrame(f: RawImage, x0: number, y0: number, size: number): RawImage {
  const w = Math.min(size, f.width),
    h = Math.min(size, f.height);
  const out = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(f.data.subarray(((y0 + y) * f.width + x0) * 3, ((y0 + y) * f.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, channels: 3, data: out };
}

export function mirror(f: RawImage): RawImage {
  const out = new Float32Array(f.data.length);
  for (let y = 0; y < f.height; y++)
    for (let x = 0; x < f.width; x++) for (let c = 0; c < 3; c++) out[(y * f.width + x) * 3 + c] = f.data[(y * f.width + f.width - 1 - x) * 3 + c]!;
  return { ...f, data: out };
}

export function makeSecondCamera(frames: RawImage[], r: () => number): RawImage[] {
  const gain = 0.8 + 0.15 * r(),
    gamma = 0.9 + 0.25 * r(),
    tint = [0.97 + 0.06 * r(), 1, 0.97 + 0.06 * r()],
    noise = 0.008 + 0.006 * r();
  return frames.map((f) =>
    sensor(
      map(f, (R, G, B) => [clamp01(gain * tint[0]! * R ** gamma), clamp01(gain * G ** gamma), clamp01(gain * tint[2]! * B ** gamma)]),
      r,
      noise,
    ),
  );
}

/**
 * Embedding. The tile of +1/-1 cells (layout.ts) is laid over the image periodically with a
 * cell size proportional to the image (TILES_ACROSS tiles across the short side: a
 * resolution-normalised domain, so a resized copy carries the same pattern relative to its
 * content), interpolated bilinearly between cell centres (smooth, so it has no block edges for
 * the eye or for JPEG to pick on), scaled by a texture mask (stronger where local contrast hides
 * it, weaker on flat skin and sky), and added equally to R, G and B (a pure luma change, which
 * survives chroma subsampling). The global gain is solved so the distortion hits `targetPsnr`.
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { extractWatermark } from './extract.js';
import { boxFilter } from '../../core/filters/box.js';
import { cropImage } from '../../core/image/geometry.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { ssim } from '../../core/metrics/index.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { convEncode } from './ecc.js';
import type { FaceBox } from '../../core/shapes.js';
import { DEFAULT_MAX_IDENTITY_DISTANCE, identityFaceProblem, type IdentityFace, type IdentityInput, resolveIdentity } from './identity.js';
import { resolveKey, type WatermarkSecret } from './key.js';
import { cellSizeFor, TILE_CELLS, tileCells, tileLayout } from './layout.js';
import { lumaPlane } from '../../core/colour.js';
import { downscalePlane } from './luma.js';
import { encodeSource, hammingDistance, identityCode, IDENTITY_BITS, packPayload } from './payload.js';
import { checkImage } from './validate.js';

/** Smallest short side we embed into: 1.5 tiles of 32 cells of 3 pixels. */
export const MIN_EMBED_SIDE = 144;
export const DEFAULT_TARGET_PSNR = 41;

/**
 * The most distortion the adaptive strength goes to by default (PSNR, dB): the mark is embedded
 * at the target PSNR, read back from the 8-bit picture, and embedded more strongly, PSNR_STEP dB
 * at a time, until it reads back clean or this floor is reached. 35 dB: where marking stays hard
 * to see on photos (the SSIM floor below holds with it); the user may lower it (minPsnr).
 */
export const DEFAULT_MIN_PSNR = 35;
const PSNR_STEP = 2;

/**
 * Bit error rate a read-back must stay within to count as clean: verify's own line between a
 * clean and a damaged mark (DAMAGED_BIT_ERROR_RATE). A mark that reads back only through more errors
 * is a weak start: on the clean photos it was the one that JPEG q75 then lost (docs/watermark.md).
 */
export const READ_BACK_MAX_BIT_ERROR_RATE = 0.03;

/** SSIM the stronger steps may go down to (the guard's floor scales with the MSE, never below this). */
const MIN_ADAPTIVE_SSIM = 0.95;

export interface EmbedWatermarkOptions extends TaskControl {
  /** The secret (string or bytes) or a key from deriveWatermarkKey (derive once for many images). */
  key: WatermarkSecret;
  /** Source id: 1..6 characters of a-z 0-9 - _ . */
  source: string;
  /**
   * Identity to bind: a face embedding, {embedding, box}, or an IdentityProvider (e.g. largest
   * face). null/undefined, or a provider that finds no face: whole-image mode.
   */
  identity?: IdentityInput;
  /** Distortion budget: PSNR (dB, RGB, 8-bit) of the marked image against the input. Default 41. */
  targetPsnr?: number;
  /**
   * Mark even if the picture already carries a watermark under this key. Default false: such a
   * picture is refused (E_ALREADY_MARKED), because a second mark under the same key garbles the
   * first (both share the key's pilot) and verify could no longer read either.
   */
  force?: boolean;
  /**
   * Floor of the adaptive strength (dB, default 35, never above targetPsnr): when the mark does
   * not read back clean at targetPsnr it is embedded more strongly, 2 dB at a time, down to this.
   * minPsnr = targetPsnr embeds at one strength.
   */
  minPsnr?: number;
  /**
   * What the written file will hold, for the read-back: default the 8-bit picture (rounded); a
   * caller writing a lossy format passes its encode + decode, so the mark is checked in the file.
   */
  readBack?: (marked: RawImage) => Promise<RawImage>;
  /**
   * Return a mark that does not read back even at minPsnr (readBack.decoded false) instead of
   * throwing E_WATERMARK_WEAK. Default false: a mark verify cannot find reads as "no watermark",
   * the same as an unmarked or stripped picture, which is worse than no mark for a forensic user.
   */
  allowWeak?: boolean;
}

/** How the mark read back from the written picture, at the strength embed settled on. */
export interface ReadBack {
  /** The payload decoded (MAC ok) to what was embedded. */
  decoded: boolean;
  /** Bit error rate of that read (null when it did not decode). */
  bitErrorRate: number | null;
  /** Decoded within READ_BACK_MAX_BIT_ERROR_RATE: a margin for later re-compression. */
  clean: boolean;
  /** Strengths tried (1: the target was enough). */
  tries: number;
}

export interface EmbedWatermarkResult {
  image: RawImage;
  mode: 'identity' | 'whole-image';
  source: string;
  /** Identity code as hex (identity mode). */
  identityCode?: string;
  faceBox?: FaceBox;
  /** Cell size in pixels and tile period. */
  cellSize: number;
  /** PSNR the gain was solved for (before 8-bit rounding, which costs ~0.1 dB): the strength settled on. */
  targetPsnr: number;
  /** The PSNR asked for (targetPsnr above is lower when the mark needed more strength). */
  requestedPsnr: number;
  readBack: ReadBack;
  /** Why a face found was not bound (whole-image mode instead): too small or unsure a face. */
  identitySkipped?: { reason: string; faceBox?: FaceBox; quality?: number };
  keyFingerprint: string;
}

export async function embedWatermark(img: RawImage, opts: EmbedWatermarkOptions): Promise<EmbedWatermarkResult> {
  if (typeof opts !== 'object' || opts === null) throw invalidOption('options', 'an object {key, source, identity?}', opts);
  checkImage(img, MIN_EMBED_SIDE, 'embedding');
  encodeSource(opts.source);
  const targetPsnr = opts.targetPsnr ?? DEFAULT_TARGET_PSNR;
  if (typeof targetPsnr !== 'number' || !(targetPsnr >= 30 && targetPsnr <= 60))
    throw invalidOption('targetPsnr', 'a number from 30 to 60 (dB)', opts.targetPsnr);
  const minPsnr = opts.minPsnr ?? Math.min(DEFAULT_MIN_PSNR, targetPsnr);
  if (typeof minPsnr !== 'number' || !(minPsnr >= 30 && minPsnr <= targetPsnr))
    throw invalidOption('minPsnr', `a number from 30 to targetPsnr (${targetPsnr}) dB`, opts.minPsnr);
  if (opts.readBack !== undefined && typeof opts.readBack !== 'function')
    throw invalidOption('readBack', 'a function (image) => Promise<image>', opts.readBack);
  const key = resolveKey(opts.key);
  report(opts, 'check', 0, 1);
  // With force the check is skipped (it costs about one extraction: ~0.2 s at 1080p).
  const existing = opts.force ? undefined : existingMark(img, key);
  if (existing) {
    throw new ClearsightError(
      ERROR_CODES.ALREADY_MARKED,
      `The picture already carries a watermark under this key (${existing}); marking it again would erase that mark. Pass force (--force) to mark it anyway`,
      { existing },
    );
  }
  report(opts, 'check', 1, 1);
  report(opts, 'identity', 0, 1);
  const { face: found } = await resolveIdentity(opts.identity, img);
  throwIfAborted(opts.signal);
  let skipped = found ? identityFaceProblem(found) : undefined;
  let face = skipped ? null : found;
  const ladder = { targetPsnr, minPsnr, opts };
  let code = face ? identityCode(face.embedding, key) : new Uint8Array(IDENTITY_BITS);
  let marked = await embedUntilReadBack(
    img,
    payloadBits(opts.source, face ? code : null, key),
    key,
    { ...ladder, ...(face?.box ? { face: face.box } : {}) },
    face ? faceCheck(opts.identity, code, key) : undefined,
  );
  if (face && marked.faceLost !== undefined) {
    // The face does not survive its own mark (the marked pixels move its embedding past the match
    // line): binding it would make verify call the untouched picture manipulated. Mark the whole picture.
    skipped = `the face does not match itself in the marked picture (${marked.faceLost}): binding it would make verify say manipulated`;
    face = null;
    code = new Uint8Array(IDENTITY_BITS);
    marked = await embedUntilReadBack(img, payloadBits(opts.source, null, key), key, ladder, undefined);
  }
  const { image, cellSize, psnr: settled, readBack } = marked;
  if (!readBack.decoded && !opts.allowWeak) {
    throw new ClearsightError(
      ERROR_CODES.WATERMARK_WEAK,
      `The watermark does not read back from the marked picture even at ${settled} dB PSNR (the strongest allowed): this picture's content masks it (small or busy pictures). ` +
        'Allow more distortion (minPsnr, --min-psnr, down to 30 dB), or pass allowWeak (--allow-weak) to write a mark that verify may read as "none"',
      { minPsnr, tries: readBack.tries, width: img.width, height: img.height },
    );
  }
  return {
    image,
    mode: face ? 'identity' : 'whole-image',
    source: opts.source,
    ...(face ? { identityCode: bitsToHex(code) } : {}),
    ...(face?.box ? { faceBox: face.box } : {}),
    ...(skipped && found
      ? {
          identitySkipped: {
            reason: skipped,
            ...(found.box ? { faceBox: found.box } : {}),
            ...(found.quality !== undefined ? { quality: round3(found.quality) } : {}),
          },
        }
      : {}),
    cellSize,
    targetPsnr: settled,
    requestedPsnr: targetPsnr,
    readBack,
    keyFingerprint: key.fingerprint,
  };
}

/**
 * Embeds at the target PSNR, reads the mark back from what will be written (8-bit, or the caller's
 * encode), and strengthens it PSNR_STEP dB at a time down to minPsnr until it reads back clean.
 * Why: the gain is solved for a distortion budget, but whether a mark survives depends on the
 * content (texture that masks it, few tile copies in a small picture): at 41 dB, 12 of 44 CBSD68
 * photos and the bundled rain example did not verify at all. Returns the first clean step, else
 * the strongest one (the floor), with how it read back.
 */
type Marked = { image: RawImage; cellSize: number; psnr: number; readBack: ReadBack; faceLost?: string };

/** The 128 payload bits: bound to an identity code, or whole-image (code null). */
function payloadBits(source: string, code: Uint8Array | null, key: ReturnType<typeof resolveKey>): Uint8Array {
  return packPayload({ identityBound: code !== null, source, identity: code ?? new Uint8Array(IDENTITY_BITS) }, key);
}

/**
 * For a face found by a provider: finds it again in the read-back picture and says how far its
 * code moved (undefined: still the same face). A face given as a bare embedding cannot be found
 * again: not checked.
 */
function faceCheck(
  identity: IdentityInput,
  code: Uint8Array,
  key: ReturnType<typeof resolveKey>,
): ((readBack: RawImage) => Promise<string | undefined>) | undefined {
  if (typeof identity !== 'function') return undefined;
  return async (readBack) => {
    const again: IdentityFace | null = await identity(readBack);
    if (!again) return 'no face found in it';
    const distance = hammingDistance(identityCode(again.embedding, key), code);
    return distance > DEFAULT_MAX_IDENTITY_DISTANCE ? `distance ${distance}/64 > ${DEFAULT_MAX_IDENTITY_DISTANCE}` : undefined;
  };
}

/**
 * Embeds `bits` at the target PSNR, reads the mark back from what will be written (8-bit, or the
 * caller's encode), and strengthens it PSNR_STEP dB at a time down to minPsnr until it reads back
 * clean. Why: the gain is solved for a distortion budget, but whether a mark survives depends on
 * the content (texture that masks it, few tile copies in a small picture): at 41 dB, 24 of 44
 * CBSD68 photos and the bundled rain example did not verify. With a bound face, each step that
 * decodes also finds the face again: a stronger mark moves the face's embedding, so the ladder
 * stops where the face would no longer match and keeps the strongest step at which it did
 * (faceLost when there is none). Returns the first clean step, else the strongest usable one.
 */
async function embedUntilReadBack(
  img: RawImage,
  bits: Uint8Array,
  key: ReturnType<typeof resolveKey>,
  p: { targetPsnr: number; minPsnr: number; opts: EmbedWatermarkOptions; face?: FaceBox },
  faceMoved: ((readBack: RawImage) => Promise<string | undefined>) | undefined,
): Promise<Marked> {
  const cells = tileCells(tileLayout(key), convEncode(bits));
  const steps: number[] = [];
  for (let t = p.targetPsnr; t > p.minPsnr + 1e-9; t -= PSNR_STEP) steps.push(Math.round(t * 100) / 100);
  steps.push(p.minPsnr);
  const readBackOf = p.opts.readBack ?? (async (m: RawImage) => as8bit(m));
  let best: Marked | undefined;
  let last: Marked | undefined;
  let faceLost: string | undefined;
  for (const [i, t] of steps.entries()) {
    report(p.opts, 'embed', i, steps.length);
    throwIfAborted(p.opts.signal);
    const { image, cellSize } = addPattern(img, cells, t, adaptiveSsimFloor(t), p.face);
    const written = await readBackOf(image);
    const ex = extractWatermark(written, key);
    const decoded = ex.found && sameBits(ex.bits, bits);
    const ber = decoded ? Math.round(ex.bitErrorRate * 10000) / 10000 : null;
    const clean = decoded && ex.bitErrorRate <= READ_BACK_MAX_BIT_ERROR_RATE;
    last = { image, cellSize, psnr: t, readBack: { decoded, bitErrorRate: ber, clean, tries: i + 1 } };
    if (decoded && faceMoved) {
      faceLost = await faceMoved(written);
      if (faceLost !== undefined) break; // a stronger mark only moves the face further
    }
    if (decoded) best = last;
    if (clean) break;
  }
  report(p.opts, 'embed', steps.length, steps.length);
  if (best) return { ...best, readBack: { ...best.readBack, tries: last!.readBack.tries } };
  return faceLost !== undefined ? { ...last!, faceLost } : last!;
}

/** The SSIM guard's floor at a PSNR: 1 - SSIM grows about as the MSE, from SSIM_FLOOR at the default 41 dB; never below MIN_ADAPTIVE_SSIM. */
function adaptiveSsimFloor(targetPsnr: number): number {
  if (targetPsnr >= DEFAULT_TARGET_PSNR) return SSIM_FLOOR;
  return Math.max(MIN_ADAPTIVE_SSIM, 1 - (1 - SSIM_FLOOR) * 10 ** ((DEFAULT_TARGET_PSNR - targetPsnr) / 10));
}

function sameBits(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The picture as an 8-bit file holds it (rounded, clamped). */
export function as8bit(img: RawImage): RawImage {
  const out = createImage(img.width, img.height, img.channels);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i]!;
    out.data[i] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255) / 255;
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Sync score (pilot peak, in standard deviations) above which a mark under the key is surely
 * present even when its payload does not decode: unmarked pictures and pictures marked under
 * another key score about 4 (3.4 to 5.2 over 48 photos); marked ones 10 to 16, still 13 to 16 when
 * marked twice under the same key.
 */
export const PRESENT_SYNC_SCORE = 8;

/** A description of the mark under `key` the picture already carries, or undefined. */
function existingMark(img: RawImage, key: ReturnType<typeof resolveKey>): string | undefined {
  const ex = extractWatermark(img, key);
  if (ex.found && ex.payload) return `source "${ex.payload.source}"`;
  if (ex.syncScore >= PRESENT_SYNC_SCORE) return `unreadable, pilot found at ${ex.syncScore.toFixed(1)} sigma`;
  return undefined;
}

export function bitsToHex(bits: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bits.length; i += 4) s += ((bits[i] << 3) | (bits[i + 1] << 2) | (bits[i + 2] << 1) | bits[i + 3]).toString(16);
  return s;
}

/** Texture mask limits: never below 30% (flat areas still carry the mark), never above 250%. */
const MASK_MIN = 0.3;
const MASK_MAX = 2.5;
const MASK_EXPONENT = 1;

function addPattern(img: RawImage, cells: Float32Array, targetPsnr: number, ssimFloor: number, face?: FaceBox): { image: RawImage; cellSize: number } {
  const { width: w, height: h } = img;
  const c = cellSizeFor(Math.min(w, h));
  const mask = textureMask(img, c);
  if (face) spareFace(mask, w, h, face);
  // Bilinear interpolation tables between cell centres: cell j's centre is at x = (j + 0.5) c.
  const col = interpTable(w, c);
  const row = interpTable(h, c);
  const mw = mask.width;
  const mcol = new Int32Array(w);
  for (let x = 0; x < w; x++) mcol[x] = Math.min(mw - 1, Math.floor((x * mw) / w));
  const delta = new Float32Array(w * h);
  let energy = 0;
  for (let yy = 0; yy < h; yy++) {
    const i0 = row.i0[yy] * TILE_CELLS;
    const i1 = row.i1[yy] * TILE_CELLS;
    const fy = row.f[yy];
    const off = yy * w;
    const moff = Math.min(mask.height - 1, Math.floor((yy * mask.height) / h)) * mw;
    for (let x = 0; x < w; x++) {
      const j0 = col.i0[x];
      const j1 = col.i1[x];
      const fx = col.f[x];
      const a = cells[i0 + j0];
      const b = cells[i1 + j0];
      const top = a + fx * (cells[i0 + j1] - a);
      const bottom = b + fx * (cells[i1 + j1] - b);
      const d = mask.data[moff + mcol[x]] * (top + fy * (bottom - top));
      delta[off + x] = d;
      energy += d * d;
    }
  }
  // Same delta on every channel: the RGB mean squared error is the mean of delta^2.
  const targetMse = 1 / 10 ** (targetPsnr / 10);
  const g = guardedGain(img, delta, Math.sqrt(targetMse / Math.max(energy / (w * h), 1e-12)), ssimFloor);
  const out = applyDelta(img, delta, g);
  return { image: out, cellSize: c };
}

function applyDelta(img: RawImage, delta: Float32Array, gain: number): RawImage {
  const out = createImage(img.width, img.height, img.channels);
  const src = img.data;
  const dst = out.data;
  if (img.channels === 3) {
    for (let i = 0, j = 0; i < delta.length; i++, j += 3) {
      const d = gain * delta[i];
      const r = src[j] + d;
      const g = src[j + 1] + d;
      const b = src[j + 2] + d;
      dst[j] = r < 0 ? 0 : r > 1 ? 1 : r;
      dst[j + 1] = g < 0 ? 0 : g > 1 ? 1 : g;
      dst[j + 2] = b < 0 ? 0 : b > 1 ? 1 : b;
    }
  } else {
    for (let i = 0; i < delta.length; i++) {
      const v = src[i] + gain * delta[i];
      dst[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}

/** SSIM floor: a margin over the 0.98 promised, for the guard's sampling error. */
const SSIM_FLOOR = 0.984;
const SSIM_CROP = 64;
const SSIM_GRID = 4;

/**
 * SSIM guard: small images have small cells, inside SSIM's 11x11 window, and lose more SSIM per
 * dB than photos (whose cells are coarse). SSIM (core/metrics, RGB) is measured on the whole
 * image when small, else on a regular 4x4 grid of 64x64 crops (a systematic sample of the SSIM
 * map, whose mean SSIM is; all three channels, since a channel with little contrast of its own,
 * often blue on skin, loses the most) marked on their own, and the gain is lowered until it
 * passes (the floor keeps a margin for the sampling error, about +-0.002 on our photos):
 * 1 - SSIM grows about as gain^2, so one rescale usually lands on the floor.
 */
function guardedGain(img: RawImage, delta: Float32Array, gain: number, floor: number): number {
  const rects: Array<[number, number, number, number]> = [];
  if (img.width * img.height <= 320 * 320) rects.push([0, 0, img.width, img.height]);
  else {
    for (let gy = 0; gy < SSIM_GRID; gy++) {
      for (let gx = 0; gx < SSIM_GRID; gx++) {
        rects.push([
          Math.floor(((gx + 0.5) / SSIM_GRID) * img.width - SSIM_CROP / 2),
          Math.floor(((gy + 0.5) / SSIM_GRID) * img.height - SSIM_CROP / 2),
          SSIM_CROP,
          SSIM_CROP,
        ]);
      }
    }
  }
  const crops = rects.map(([x, y, w, h]) => {
    const d = new Float32Array(w * h);
    for (let yy = 0; yy < h; yy++) d.set(delta.subarray((y + yy) * img.width + x, (y + yy) * img.width + x + w), yy * w);
    return { original: cropImage(img, x, y, w, h), delta: d };
  });
  const ssimAt = (g: number) => crops.reduce((s, c) => s + ssim(c.original, applyDelta(c.original, c.delta, g)), 0) / crops.length;
  let g = gain;
  for (let i = 0, s = ssimAt(g); i < 3 && s < floor; i++, s = ssimAt(g)) g *= 0.99 * Math.sqrt((1 - floor) / (1 - s));
  return g;
}

/**
 * Texture mask: local standard deviation of luma over about a cell, relative to its mean,
 * computed on a copy downscaled to about 2 pixels a cell (the mask only needs cell resolution,
 * and this keeps the 1080p embed cheap). Never below MASK_MIN (flat areas still carry the mark)
 * or above MASK_MAX.
 */
function textureMask(img: RawImage, c: number): { data: Float32Array; width: number; height: number } {
  const small = downscalePlane(lumaPlane(img), img.width, img.height, Math.max(1, c / 2));
  const { width: w, height: h } = small;
  const mean = boxFilter(small.data, w, h, 1);
  const sq = new Float32Array(w * h);
  for (let i = 0; i < sq.length; i++) sq[i] = small.data[i] * small.data[i];
  const meanSq = boxFilter(sq, w, h, 1);
  let stdSum = 0;
  for (let i = 0; i < sq.length; i++) {
    sq[i] = Math.sqrt(Math.max(0, meanSq[i] - mean[i] * mean[i]));
    stdSum += sq[i];
  }
  const stdMean = stdSum / sq.length + 1e-6;
  const smooth = boxFilter(sq, w, h, 1);
  for (let i = 0; i < smooth.length; i++) {
    const m = MASK_MIN + (smooth[i] / stdMean) ** MASK_EXPONENT;
    smooth[i] = m > MASK_MAX ? MASK_MAX : m;
  }
  return { data: smooth, width: w, height: h };
}

/** Mask scale over a bound face (its box grown by FACE_MARGIN each side). */
const FACE_MASK_SCALE = 0.25;
const FACE_MARGIN = 0.15;

/**
 * Lowers the mask over the bound face: the mark must not move the identity it carries (a
 * stronger mark moved the code of Set14/face.png's face by 9 bits at 37 dB, and JPEG then lost the
 * face), and the rest of the picture carries the payload anyway. The gain solved for the PSNR
 * moves that energy outside the face.
 */
function spareFace(mask: { data: Float32Array; width: number; height: number }, w: number, h: number, face: FaceBox): void {
  const mx = face.width * FACE_MARGIN;
  const my = face.height * FACE_MARGIN;
  const x0 = Math.max(0, Math.floor(((face.x - mx) / w) * mask.width));
  const x1 = Math.min(mask.width, Math.ceil(((face.x + face.width + mx) / w) * mask.width));
  const y0 = Math.max(0, Math.floor(((face.y - my) / h) * mask.height));
  const y1 = Math.min(mask.height, Math.ceil(((face.y + face.height + my) / h) * mask.height));
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask.data[y * mask.width + x]! *= FACE_MASK_SCALE;
}

function interpTable(n: number, c: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  for (let x = 0; x < n; x++) {
    const u = (x + 0.5) / c - 0.5;
    const j = Math.floor(u);
    f[x] = u - j;
    i0[x] = ((j % TILE_CELLS) + TILE_CELLS) % TILE_CELLS;
    i1[x] = (i0[x] + 1) % TILE_CELLS;
  }
  return { i0, i1, f };
}

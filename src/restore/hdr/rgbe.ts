/**
 * Radiance .hdr (RGBE) encoder and decoder (Greg Ward's format, as read by Radiance, Photoshop,
 * OpenCV, Blender...).
 *
 * A pixel is four bytes R, G, B, E: value_c = (byte_c + 0.5) * 2^(E - 136), E = 0 meaning black.
 * The relative precision is therefore ~1/256 of the largest channel of the pixel (8-bit mantissa
 * shared by the three channels).
 *
 * - encodeRgbe writes the header, a `-Y H +X W` resolution line (top-down, left to right) and
 *   new-style run-length encoded scanlines (each of the 4 components run-length coded on its own),
 *   or flat RGBE quadruples with `rle: false` (and always for widths outside 8..32767, where the
 *   format has no RLE).
 * - decodeRgbe reads both (per scanline, as the format allows mixing), plus old-style flat files.
 *   Only the standard `-Y H +X W` orientation is accepted; anything else is a clear error.
 */
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import { createImage, type RawImage } from '../../core/image/types.js';

export interface RgbeEncodeOptions {
  /** Run-length encode scanlines (default true). */
  rle?: boolean;
  /** Written into the header as EXPOSURE= when given (informative only). */
  exposure?: number;
  /** Extra header comment (one line). */
  comment?: string;
}

/** Encodes a linear RGB radiance image (3 channels, any non-negative finite values) as .hdr bytes. */
export function encodeRgbe(img: RawImage, opts: RgbeEncodeOptions = {}): Buffer {
  if (img.channels !== 3)
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `RGBE needs a 3-channel image, got ${img.channels} channel(s)`, { channels: img.channels });
  const { width, height, data } = img;
  const lines = ['#?RADIANCE', '# written by clearsight'];
  if (opts.comment) lines.push(`# ${opts.comment.replace(/[\r\n]+/g, ' ')}`);
  if (opts.exposure !== undefined) lines.push(`EXPOSURE=${opts.exposure}`);
  lines.push('FORMAT=32-bit_rle_rgbe', '', `-Y ${height} +X ${width}`, '');
  const header = Buffer.from(lines.join('\n'), 'latin1');
  const rle = (opts.rle ?? true) && width >= 8 && width <= 0x7fff;
  const scan = new Uint8Array(width * 4);
  // Worst case for RLE: 4 header bytes + per component width + ceil(width/128) count bytes.
  const maxLine = rle ? 4 + 4 * (width + Math.ceil(width / 128)) : width * 4;
  const out = new Uint8Array(header.length + maxLine * height);
  out.set(header, 0);
  let pos = header.length;
  for (let y = 0; y < height; y++) {
    floatsToRgbe(data, y * width * 3, width, scan);
    if (rle) pos = writeRleScanline(scan, width, out, pos);
    else {
      out.set(scan, pos);
      pos += width * 4;
    }
  }
  return Buffer.from(out.buffer, out.byteOffset, pos);
}

function floatsToRgbe(src: Float32Array, offset: number, width: number, dst: Uint8Array): void {
  for (let x = 0; x < width; x++) {
    const i = offset + x * 3;
    let r = src[i]!;
    let g = src[i + 1]!;
    let b = src[i + 2]!;
    // Negative or NaN values cannot be represented: black.
    if (!(r > 0)) r = 0;
    if (!(g > 0)) g = 0;
    if (!(b > 0)) b = 0;
    const v = Math.max(r, g, b);
    const o = x * 4;
    if (v < 1e-32 || !Number.isFinite(v)) {
      if (v === Infinity) throw new ClearsightError(ERROR_CODES.RUNTIME, 'RGBE: radiance is infinite', {});
      dst[o] = dst[o + 1] = dst[o + 2] = dst[o + 3] = 0;
      continue;
    }
    // v = m * 2^e with m in [0.5, 1): bytes = c * 256 / 2^e.
    let e = Math.ceil(Math.log2(v));
    if (v / 2 ** e >= 1) e += 1; // log2 rounding at exact powers of two
    if (v / 2 ** e < 0.5) e -= 1;
    const scale = 256 / 2 ** e;
    dst[o] = Math.min(255, Math.floor(r * scale));
    dst[o + 1] = Math.min(255, Math.floor(g * scale));
    dst[o + 2] = Math.min(255, Math.floor(b * scale));
    dst[o + 3] = Math.max(0, Math.min(255, e + 128));
  }
}

/** New-style RLE: marker 2 2 hi lo, then each component: runs (128+n, value) or dumps (n, values...). */
function writeRleScanline(scan: Uint8Array, width: number, out: Uint8Array, pos: number): number {
  out[pos++] = 2;
  out[pos++] = 2;
  out[pos++] = width >> 8;
  out[pos++] = width & 0xff;
  for (let c = 0; c < 4; c++) {
    let x = 0;
    while (x < width) {
      // Find the next run of >= 3 equal values (a shorter run costs more than a dump).
      let runStart = x;
      let runLen = 0;
      while (runStart < width) {
        runLen = 1;
        const v = scan[runStart * 4 + c]!;
        while (runStart + runLen < width && runLen < 127 && scan[(runStart + runLen) * 4 + c] === v) runLen++;
        if (runLen >= 3) break;
        runStart += runLen;
      }
      if (runStart >= width) runLen = 0;
      // Dump the literals before the run, 128 at most per chunk.
      while (x < runStart) {
        const n = Math.min(128, runStart - x);
        out[pos++] = n;
        for (let k = 0; k < n; k++) out[pos++] = scan[(x + k) * 4 + c]!;
        x += n;
      }
      if (runLen >= 3) {
        out[pos++] = 128 + runLen;
        out[pos++] = scan[runStart * 4 + c]!;
        x = runStart + runLen;
      }
    }
  }
  return pos;
}

/** Decodes .hdr bytes into a linear RGB RawImage (values as stored, not clamped to [0, 1]). */
export function decodeRgbe(bytes: Uint8Array, label = 'input'): RawImage {
  const bad = (reason: string) => new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `Cannot read "${label}": ${reason}`, { path: label });
  // Header: text lines up to an empty line, then the resolution line.
  let pos = 0;
  const readLine = (): string => {
    const start = pos;
    while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
    if (pos >= bytes.length) throw bad('truncated Radiance header');
    const s = Buffer.from(bytes.subarray(start, pos)).toString('latin1');
    pos++;
    return s;
  };
  const magic = readLine();
  if (!magic.startsWith('#?')) throw bad('not a Radiance .hdr file (no "#?" signature)');
  for (;;) {
    const line = readLine();
    if (line.trim() === '') break;
    const m = /^FORMAT=(.*)$/.exec(line.trim());
    if (m && m[1] !== '32-bit_rle_rgbe') throw bad(`unsupported pixel format "${m[1]}" (only 32-bit_rle_rgbe)`);
  }
  const res = /^-Y (\d+) \+X (\d+)$/.exec(readLine().trim());
  if (!res) throw bad('unsupported resolution line (only "-Y <height> +X <width>")');
  const height = Number(res[1]);
  const width = Number(res[2]);
  if (!(width > 0 && height > 0)) throw bad(`invalid size ${width}x${height}`);
  const img = createImage(width, height, 3);
  const scan = new Uint8Array(width * 4);
  for (let y = 0; y < height; y++) {
    pos = readScanline(bytes, pos, width, scan, bad);
    const o = y * width * 3;
    for (let x = 0; x < width; x++) {
      const e = scan[x * 4 + 3]!;
      if (e === 0) continue;
      const f = 2 ** (e - 136);
      img.data[o + x * 3] = (scan[x * 4]! + 0.5) * f;
      img.data[o + x * 3 + 1] = (scan[x * 4 + 1]! + 0.5) * f;
      img.data[o + x * 3 + 2] = (scan[x * 4 + 2]! + 0.5) * f;
    }
  }
  return img;
}

function readScanline(bytes: Uint8Array, pos: number, width: number, scan: Uint8Array, bad: (r: string) => Error): number {
  if (pos + 4 > bytes.length) throw bad('truncated pixel data');
  const isRle = width >= 8 && width <= 0x7fff && bytes[pos] === 2 && bytes[pos + 1] === 2 && (bytes[pos + 2]! & 0x80) === 0;
  if (!isRle) {
    if (pos + width * 4 > bytes.length) throw bad('truncated pixel data');
    scan.set(bytes.subarray(pos, pos + width * 4));
    return pos + width * 4;
  }
  if (((bytes[pos + 2]! << 8) | bytes[pos + 3]!) !== width) throw bad('RLE scanline length does not match the image width');
  pos += 4;
  for (let c = 0; c < 4; c++) {
    let x = 0;
    while (x < width) {
      if (pos >= bytes.length) throw bad('truncated RLE data');
      let n = bytes[pos++]!;
      if (n > 128) {
        n -= 128;
        if (x + n > width || pos >= bytes.length) throw bad('RLE run overflows the scanline');
        const v = bytes[pos++]!;
        for (let k = 0; k < n; k++) scan[(x + k) * 4 + c] = v;
      } else {
        if (n === 0 || x + n > width || pos + n > bytes.length) throw bad('bad RLE dump length');
        for (let k = 0; k < n; k++) scan[(x + k) * 4 + c] = bytes[pos++]!;
      }
      x += n;
    }
  }
  return pos;
}

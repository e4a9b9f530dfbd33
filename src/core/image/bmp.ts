/**
 * Minimal BMP codec. libvips (and so sharp) cannot read or write BMP, so we carry our own.
 *
 * Decoder: Windows BMP with a BITMAPINFOHEADER or later (40, 52, 56, 108, 124 bytes) or the old
 * OS/2 BITMAPCOREHEADER (12 bytes); uncompressed (BI_RGB) at 1/4/8 bpp (palette), 16/24/32 bpp,
 * and BI_BITFIELDS / BI_ALPHABITFIELDS at 16/32 bpp; bottom-up and top-down rows.
 * RLE, JPEG- and PNG-in-BMP are rejected as unsupported.
 *
 * Encoder: 24-bit BI_RGB, bottom-up, the most widely readable variant (no alpha).
 *
 * The decoder validates every size against the buffer before reading and checks the pixel
 * count against the caller's limit before allocating anything.
 */

export type BmpErrorKind = 'corrupt' | 'unsupported' | 'too-large';

/** Thrown by the BMP codec; io.ts turns it into a ClearsightError naming the file. */
export class BmpError extends Error {
  constructor(
    readonly kind: BmpErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'BmpError';
  }
}

export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
  headerSize: number;
  paletteOffset: number;
  paletteEntrySize: 3 | 4;
  paletteCount: number;
  masks?: { r: number; g: number; b: number; a: number };
}

export interface BmpDecoded {
  width: number;
  height: number;
  /** RGB interleaved, 8 bits per sample. */
  rgb: Uint8Array;
  /** Alpha, 8 bits, only when the file carries a meaningful alpha channel. */
  alpha?: Uint8Array;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

/** Known DIB header sizes (OS/2 and Windows variants); checked so that text starting "BM" is not taken for a BMP. */
const DIB_HEADER_SIZES = [12, 16, 40, 52, 56, 64, 108, 124];

export function isBmp(buf: Uint8Array): boolean {
  if (buf.length < 18 || buf[0] !== 0x42 || buf[1] !== 0x4d) return false; // "BM"
  const headerSize = buf[14] | (buf[15] << 8) | (buf[16] << 16) | (buf[17] << 24);
  return DIB_HEADER_SIZES.includes(headerSize);
}

/** Parses and validates the headers only (cheap; allocates nothing proportional to the image). */
export function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < 26) throw new BmpError('corrupt', 'BMP header is truncated');
  const pixelOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (headerSize === 12) return readCoreHeader(buf, pixelOffset);
  if (![40, 52, 56, 108, 124].includes(headerSize)) {
    throw new BmpError('unsupported', `BMP info header of ${headerSize} bytes is not supported`);
  }
  if (buf.length < 14 + headerSize) throw new BmpError('corrupt', 'BMP info header is truncated');

  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const planes = buf.readUInt16LE(26);
  const bitsPerPixel = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  const colorsUsed = buf.readUInt32LE(46);
  if (planes !== 1) throw new BmpError('corrupt', `BMP has ${planes} planes (must be 1)`);
  checkDimensions(width, rawHeight);
  checkCompression(compression, bitsPerPixel);

  // Bit masks live inside V2+ headers, or right after a 40-byte header for BI_BITFIELDS.
  let masks: BmpHeader['masks'];
  let afterMasks = 14 + headerSize;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    const inHeader = headerSize >= 52;
    const maskStart = 54;
    const maskCount = compression === BI_ALPHABITFIELDS || headerSize >= 56 ? 4 : 3;
    if (!inHeader) afterMasks += maskCount * 4;
    if (buf.length < maskStart + maskCount * 4) throw new BmpError('corrupt', 'BMP bit masks are truncated');
    masks = {
      r: buf.readUInt32LE(maskStart),
      g: buf.readUInt32LE(maskStart + 4),
      b: buf.readUInt32LE(maskStart + 8),
      a: maskCount === 4 ? buf.readUInt32LE(maskStart + 12) : 0,
    };
  } else if (bitsPerPixel === 16) {
    masks = { r: 0x7c00, g: 0x03e0, b: 0x001f, a: 0 }; // BI_RGB 16-bit is X1R5G5B5
  }

  // More colours than the pixel size can index is harmless; only the addressable ones matter.
  const paletteCount = bitsPerPixel <= 8 ? Math.min(colorsUsed || 1 << bitsPerPixel, 1 << bitsPerPixel) : 0;
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel,
    compression,
    pixelOffset,
    headerSize,
    paletteOffset: afterMasks,
    paletteEntrySize: 4,
    paletteCount,
    masks,
  };
}

function readCoreHeader(buf: Buffer, pixelOffset: number): BmpHeader {
  const width = buf.readUInt16LE(18);
  const height = buf.readUInt16LE(20);
  const planes = buf.readUInt16LE(22);
  const bitsPerPixel = buf.readUInt16LE(24);
  if (planes !== 1) throw new BmpError('corrupt', `BMP has ${planes} planes (must be 1)`);
  if (![1, 4, 8, 24].includes(bitsPerPixel)) {
    throw new BmpError('unsupported', `OS/2 BMP with ${bitsPerPixel} bits per pixel is not supported`);
  }
  checkDimensions(width, height);
  return {
    width,
    height,
    topDown: false,
    bitsPerPixel,
    compression: BI_RGB,
    pixelOffset,
    headerSize: 12,
    paletteOffset: 26,
    paletteEntrySize: 3,
    paletteCount: bitsPerPixel <= 8 ? 1 << bitsPerPixel : 0,
  };
}

function checkDimensions(width: number, height: number): void {
  if (width <= 0 || height === 0) {
    throw new BmpError('corrupt', `BMP header gives impossible dimensions ${width}x${height}`);
  }
}

function checkCompression(compression: number, bpp: number): void {
  if (compression === BI_RLE8 || compression === BI_RLE4) {
    throw new BmpError('unsupported', 'RLE-compressed BMP is not supported; re-save it uncompressed or as PNG');
  }
  if (compression === BI_JPEG || compression === BI_PNG) {
    throw new BmpError('unsupported', 'BMP with embedded JPEG/PNG data is not supported');
  }
  if (compression === BI_RGB) {
    if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new BmpError('corrupt', `BMP with ${bpp} bits per pixel is invalid`);
    return;
  }
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    if (bpp !== 16 && bpp !== 32) throw new BmpError('unsupported', `BMP bit fields with ${bpp} bits per pixel are not supported`);
    return;
  }
  throw new BmpError('unsupported', `BMP compression type ${compression} is not supported`);
}

/** Bytes per stored row: rows are padded to a multiple of 4 bytes. */
export function bmpRowStride(width: number, bitsPerPixel: number): number {
  return Math.floor((bitsPerPixel * width + 31) / 32) * 4;
}

/**
 * Decodes a BMP. `maxPixels` is enforced on the header before any pixel buffer is allocated.
 */
export function decodeBmp(buf: Buffer, maxPixels = Infinity): BmpDecoded {
  const h = readBmpHeader(buf);
  if (h.width * h.height > maxPixels) {
    throw new BmpError('too-large', `BMP header claims ${h.width}x${h.height} pixels, more than the limit of ${maxPixels}`);
  }
  const stride = bmpRowStride(h.width, h.bitsPerPixel);
  // Some writers omit the padding of the very last row; accept that, but nothing shorter.
  const needed = stride * (h.height - 1) + Math.ceil((h.bitsPerPixel * h.width) / 8);
  if (h.pixelOffset < 14 + h.headerSize || h.pixelOffset + needed > buf.length) {
    throw new BmpError('corrupt', `BMP pixel data is truncated (needs ${needed} bytes at offset ${h.pixelOffset}, file has ${buf.length})`);
  }
  const rgb = new Uint8Array(h.width * h.height * 3);
  if (h.bitsPerPixel <= 8) {
    decodePalettised(buf, h, stride, rgb);
    return { width: h.width, height: h.height, rgb };
  }
  if (h.bitsPerPixel === 24) {
    decode24(buf, h, stride, rgb);
    return { width: h.width, height: h.height, rgb };
  }
  const alpha = decodeBitfields(buf, h, stride, rgb);
  return alpha ? { width: h.width, height: h.height, rgb, alpha } : { width: h.width, height: h.height, rgb };
}

/** Offset of stored row `y` (in display order, top row = 0). */
function rowOffset(h: BmpHeader, stride: number, y: number): number {
  const storedRow = h.topDown ? y : h.height - 1 - y;
  return h.pixelOffset + storedRow * stride;
}

function readPalette(buf: Buffer, h: BmpHeader): Uint8Array {
  // Some writers store fewer entries than declared; use those that fit before the pixel data.
  const room = Math.floor((Math.min(h.pixelOffset, buf.length) - h.paletteOffset) / h.paletteEntrySize);
  const count = Math.min(h.paletteCount, room);
  if (count <= 0) throw new BmpError('corrupt', 'BMP colour palette is missing or truncated');
  // Entries beyond `count` stay black: out-of-range indices render black, as browsers do.
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < count; i++) {
    const p = h.paletteOffset + i * h.paletteEntrySize;
    palette[i * 3] = buf[p + 2]; // stored as B, G, R(, reserved)
    palette[i * 3 + 1] = buf[p + 1];
    palette[i * 3 + 2] = buf[p];
  }
  return palette;
}

function decodePalettised(buf: Buffer, h: BmpHeader, stride: number, rgb: Uint8Array): void {
  const palette = readPalette(buf, h);
  const bpp = h.bitsPerPixel;
  const perByte = 8 / bpp;
  const mask = (1 << bpp) - 1;
  for (let y = 0; y < h.height; y++) {
    const row = rowOffset(h, stride, y);
    for (let x = 0; x < h.width; x++) {
      const byte = buf[row + Math.floor(x / perByte)];
      // Most significant bits hold the leftmost pixel.
      const shift = 8 - bpp * ((x % perByte) + 1);
      const index = (byte >> shift) & mask;
      const o = (y * h.width + x) * 3;
      rgb[o] = palette[index * 3];
      rgb[o + 1] = palette[index * 3 + 1];
      rgb[o + 2] = palette[index * 3 + 2];
    }
  }
}

function decode24(buf: Buffer, h: BmpHeader, stride: number, rgb: Uint8Array): void {
  for (let y = 0; y < h.height; y++) {
    const row = rowOffset(h, stride, y);
    for (let x = 0; x < h.width; x++) {
      const p = row + x * 3;
      const o = (y * h.width + x) * 3;
      rgb[o] = buf[p + 2];
      rgb[o + 1] = buf[p + 1];
      rgb[o + 2] = buf[p];
    }
  }
}

interface Field {
  shift: number;
  max: number;
}

function fieldOf(mask: number): Field | undefined {
  if (mask === 0) return undefined;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

function scaleField(value: number, field: Field | undefined, mask: number): number {
  if (!field) return 0;
  return Math.round((((value & mask) >>> field.shift) * 255) / field.max);
}

/** 16/32-bit pixels; returns alpha when the file has a meaningful alpha channel. */
function decodeBitfields(buf: Buffer, h: BmpHeader, stride: number, rgb: Uint8Array): Uint8Array | undefined {
  const bytes = h.bitsPerPixel / 8;
  // BI_RGB 32-bit is B, G, R, X. The X byte is "reserved", but many writers store alpha there;
  // like most decoders we treat it as alpha unless it is zero everywhere.
  const masks = h.masks ?? { r: 0x00ff0000, g: 0x0000ff00, b: 0x000000ff, a: h.bitsPerPixel === 32 ? 0xff000000 : 0 };
  const fr = fieldOf(masks.r);
  const fg = fieldOf(masks.g);
  const fb = fieldOf(masks.b);
  const fa = fieldOf(masks.a);
  const alpha = fa ? new Uint8Array(h.width * h.height) : undefined;
  let anyAlpha = false;
  for (let y = 0; y < h.height; y++) {
    const row = rowOffset(h, stride, y);
    for (let x = 0; x < h.width; x++) {
      const p = row + x * bytes;
      const v = bytes === 4 ? buf.readUInt32LE(p) : buf.readUInt16LE(p);
      const i = y * h.width + x;
      rgb[i * 3] = scaleField(v, fr, masks.r);
      rgb[i * 3 + 1] = scaleField(v, fg, masks.g);
      rgb[i * 3 + 2] = scaleField(v, fb, masks.b);
      if (alpha) {
        const a = scaleField(v, fa, masks.a);
        alpha[i] = a;
        if (a !== 0) anyAlpha = true;
      }
    }
  }
  // An all-zero alpha channel means "unused", not "fully transparent".
  return anyAlpha ? alpha : undefined;
}

/**
 * Encodes 8-bit interleaved RGB (3 channels) or grey (1 channel) as a 24-bit bottom-up BMP.
 */
export function encodeBmp24(width: number, height: number, channels: 1 | 3, samples: Uint8Array): Buffer {
  const stride = bmpRowStride(width, 24);
  const pixelBytes = stride * height;
  const offset = 14 + 40;
  const out = Buffer.alloc(offset + pixelBytes); // zero-filled, so row padding is zero
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(offset + pixelBytes, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22); // positive: bottom-up, the most compatible layout
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(BI_RGB, 30);
  out.writeUInt32LE(pixelBytes, 34);
  out.writeInt32LE(2835, 38); // 72 dpi in pixels per metre
  out.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const p = row + x * 3;
      if (channels === 3) {
        out[p] = samples[i * 3 + 2];
        out[p + 1] = samples[i * 3 + 1];
        out[p + 2] = samples[i * 3];
      } else {
        out[p] = out[p + 1] = out[p + 2] = samples[i];
      }
    }
  }
  return out;
}

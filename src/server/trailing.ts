/**
 * Where an image file's own data ends, so bytes appended after it (a PNG padded with zeros to
 * fill the store, a "motion photo" JPEG with a video behind its EOI marker, anything smuggled in)
 * are cut off before an upload is stored. Decoders ignore such bytes, so cutting them changes no
 * pixel; the store then keeps what the job needs and nothing more.
 *
 * Read with positioned reads on the file (never loaded whole): PNG walks its chunks to IEND, JPEG
 * walks its markers (and scans entropy-coded segments for the next marker) to EOI, WebP and BMP
 * state their size in the header. TIFF (offsets may point anywhere in the file) is left alone.
 */
import { open, truncate, type FileHandle } from 'node:fs/promises';

/** A small reader of bytes at positions, buffered in 64 KiB blocks. */
class ByteReader {
  private block = Buffer.alloc(0);
  private blockStart = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async byte(pos: number): Promise<number | undefined> {
    if (pos < 0 || pos >= this.size) return undefined;
    if (pos < this.blockStart || pos >= this.blockStart + this.block.length) {
      const buf = Buffer.alloc(Math.min(65536, this.size - pos));
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, pos);
      this.block = buf.subarray(0, bytesRead);
      this.blockStart = pos;
      if (bytesRead === 0) return undefined;
    }
    return this.block[pos - this.blockStart];
  }

  /**
   * Position of the first 0xFF at or after `pos` that starts a marker (not followed by 0x00
   * stuffing, an RSTn code or another 0xFF): the end of a JPEG entropy-coded segment.
   */
  async markerFrom(pos: number): Promise<number | undefined> {
    for (;;) {
      if ((await this.byte(pos)) === undefined) return undefined;
      const block = this.block;
      const start = this.blockStart;
      // Tight loop within the loaded block; the byte after a block's last 0xFF is read through byte().
      for (let i = pos - start; i < block.length - 1; i++) {
        if (block[i] !== 0xff) continue;
        const next = block[i + 1];
        if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return start + i;
      }
      const last = start + block.length - 1;
      if ((await this.byte(last)) === 0xff) {
        const next = await this.byte(last + 1);
        if (next === undefined) return undefined;
        if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return last;
      }
      pos = last + 1;
    }
  }

  async bytes(pos: number, n: number): Promise<Buffer | undefined> {
    if (pos + n > this.size) return undefined;
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = (await this.byte(pos + i))!;
    return out;
  }
}

async function pngEnd(r: ByteReader): Promise<number | undefined> {
  let pos = 8;
  for (;;) {
    const head = await r.bytes(pos, 8);
    if (!head) return undefined;
    const length = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    pos += 12 + length;
    if (type === 'IEND') return pos <= r.size ? pos : undefined;
  }
}

async function jpegEnd(r: ByteReader): Promise<number | undefined> {
  let pos = 2; // after SOI
  for (;;) {
    // Markers: 0xFF (fill bytes 0xFF allowed) then a code.
    if ((await r.byte(pos)) !== 0xff) return undefined;
    let code = await r.byte(pos + 1);
    while (code === 0xff) code = await r.byte(++pos + 1);
    if (code === undefined) return undefined;
    pos += 2;
    if (code === 0xd9) return pos; // EOI
    if (code === 0x01 || (code >= 0xd0 && code <= 0xd7)) continue; // no length
    const len = await r.bytes(pos, 2);
    if (!len) return undefined;
    pos += len.readUInt16BE(0);
    if (code === 0xda) {
      // Entropy-coded data: runs to the next 0xFF not followed by 0x00 (stuffing) or RSTn.
      const marker = await r.markerFrom(pos);
      if (marker === undefined) return undefined;
      pos = marker;
    }
  }
}

async function riffEnd(r: ByteReader): Promise<number | undefined> {
  const head = await r.bytes(4, 4);
  if (!head) return undefined;
  const size = head.readUInt32LE(0) + 8;
  return size + (size % 2); // chunks are padded to even sizes
}

async function bmpEnd(r: ByteReader): Promise<number | undefined> {
  const head = await r.bytes(2, 4);
  const size = head?.readUInt32LE(0);
  return size && size > 14 ? size : undefined;
}

/** End offset of the image data proper, or undefined when the format does not say (TIFF) or the walk fails. */
export async function imageDataEnd(path: string, format: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const r = new ByteReader(fh, (await fh.stat()).size);
    switch (format) {
      case 'png':
        return await pngEnd(r);
      case 'jpeg':
        return await jpegEnd(r);
      case 'webp':
        return await riffEnd(r);
      case 'bmp':
        return await bmpEnd(r);
      default:
        return undefined;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Cuts bytes after the image's end off the file. Returns the new size when something was cut,
 * undefined when the file ends where the image does (or its end cannot be told).
 */
export async function trimTrailingData(path: string, format: string, size: number): Promise<number | undefined> {
  const end = await imageDataEnd(path, format);
  if (end === undefined || end >= size) return undefined;
  await truncate(path, end);
  return end;
}

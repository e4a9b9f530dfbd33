/**
 * Writes a patch set for the Python trainers (training/cstrain/patchset.py reads it).
 *
 * A set is a folder: manifest.json plus one raw little-endian array file per named array, whose
 * first axis is the item index. Images go in as uint8 HWC RGB (8 bits are what the photos carry);
 * labels and parameters as float32. The manifest records, per item, the source file with its
 * sha256, the crop box, the degradation parameters, the group (source/person/scene: what splits
 * must respect) and the split, so any patch can be traced back and re-made.
 *
 * The folder is written under a temporary name and renamed when complete: a crashed preparation
 * never leaves a set that looks finished.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { RawImage } from '../../src/core/image/types.js';

export const PATCHSET_FORMAT = 'clearsight-patchset/1';

export interface ArraySpec {
  /** Shape of one item (e.g. [128, 128, 3] for an image patch, [6] for a label vector). */
  readonly shape: readonly number[];
  readonly dtype: 'uint8' | 'float32';
}

export interface ItemMeta {
  /** What splits must respect: the source set, the person, the scene. */
  readonly group: string;
  readonly split: 'train' | 'val' | 'test';
  readonly source?: { readonly path: string; readonly sha256: string };
  readonly crop?: readonly [number, number, number, number];
  readonly degradation?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

const fileSha = new Map<string, string>();

/** sha256 of a file, memoised (many patches come from one photo). */
export function sha256File(file: string): string {
  let sha = fileSha.get(file);
  if (!sha) {
    sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    fileSha.set(file, sha);
  }
  return sha;
}

/** An image in [0,1] as uint8 HWC bytes (rounded, clamped). */
export function toUint8(img: RawImage): Uint8Array {
  if (img.channels !== 3) throw new Error(`patch must be RGB, got ${img.channels} channels`);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img.data[i] * 255)));
  return out;
}

export class PatchSetWriter {
  private readonly tmp: string;
  private readonly fds = new Map<string, number>();
  private readonly items: Array<ItemMeta & { index: number }> = [];
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly info: { name: string; command: string; seed: number; arrays: Readonly<Record<string, ArraySpec>>; notes?: string },
  ) {
    this.tmp = `${dir}.partial-${process.pid}`;
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
    for (const name of Object.keys(info.arrays)) this.fds.set(name, openSync(path.join(this.tmp, `${name}.bin`), 'w'));
  }

  get count(): number {
    return this.items.length;
  }

  /** Appends one item: every declared array must be given, with exactly its shape's element count. */
  add(arrays: Readonly<Record<string, Uint8Array | Float32Array | RawImage>>, meta: ItemMeta): void {
    if (this.closed) throw new Error('patch set already closed');
    for (const [name, spec] of Object.entries(this.info.arrays)) {
      const given = arrays[name];
      if (!given) throw new Error(`item ${this.items.length} lacks array "${name}"`);
      const bytes = encode(given, spec);
      const expected = spec.shape.reduce((a, b) => a * b, 1) * (spec.dtype === 'uint8' ? 1 : 4);
      if (bytes.byteLength !== expected)
        throw new Error(`array "${name}": ${bytes.byteLength} bytes, shape ${spec.shape.join('x')} ${spec.dtype} needs ${expected}`);
      writeSync(this.fds.get(name)!, bytes);
    }
    this.items.push({ index: this.items.length, ...meta });
  }

  /** Writes the manifest and moves the set into place (replacing an older set of the same name). Returns the manifest's sha256. */
  close(): string {
    this.closed = true;
    for (const fd of this.fds.values()) closeSync(fd);
    const arrays = Object.fromEntries(
      Object.entries(this.info.arrays).map(([name, spec]) => [name, { file: `${name}.bin`, dtype: spec.dtype, shape: [this.items.length, ...spec.shape] }]),
    );
    const groups = new Map<string, number>();
    for (const it of this.items) groups.set(it.group, (groups.get(it.group) ?? 0) + 1);
    const manifest = {
      format: PATCHSET_FORMAT,
      name: this.info.name,
      command: this.info.command,
      seed: this.info.seed,
      createdAt: new Date().toISOString(),
      notes: this.info.notes ?? '',
      count: this.items.length,
      arrays,
      groups: Object.fromEntries(groups),
      items: this.items,
    };
    const text = `${JSON.stringify(manifest, null, 1)}\n`;
    writeFileSync(path.join(this.tmp, 'manifest.json'), text);
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true });
    renameSync(this.tmp, this.dir);
    return createHash('sha256').update(text).digest('hex');
  }
}

function encode(value: Uint8Array | Float32Array | RawImage, spec: ArraySpec): Uint8Array {
  if (value instanceof Uint8Array) {
    if (spec.dtype !== 'uint8') throw new Error('uint8 data for a float32 array');
    return value;
  }
  if (value instanceof Float32Array) {
    if (spec.dtype !== 'float32') throw new Error('float32 data for a uint8 array');
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return spec.dtype === 'uint8' ? toUint8(value) : new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength);
}

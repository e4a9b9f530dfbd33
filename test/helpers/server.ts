/** Fixtures and small clients for the server, queue, batch and web tests (and the load/fault benches). */
import { crc32 } from 'node:zlib';
import { createImage, encodeImage } from '../../src/core/image/index.js';
import { mulberry32 } from '../../src/core/random.js';
import type { JobQueue } from '../../src/server/jobs/queue.js';

/** A seeded, dim RGB picture as PNG (lowlight-ish, so the gamma task has work to do). */
export async function fixturePng(width = 32, height = 32, seed = 1): Promise<Buffer> {
  const rand = mulberry32(seed);
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = 0.05 + 0.2 * (x / width) * (y / height);
      for (let c = 0; c < 3; c++) img.data[(y * width + x) * 3 + c] = Math.min(1, base + 0.03 * rand());
    }
  }
  return encodeImage(img, 'png');
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG header that declares width x height (no pixel data to speak of): a "pixel bomb". */
export function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A minimal ZIP (one stored empty entry): not an image, whatever its name says. */
export function tinyZip(): Buffer {
  const name = Buffer.from('bomb.txt');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(name.length, 26);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  return Buffer.concat([local, name, end]);
}

export function form(fields: Record<string, string>, file?: { field?: string; bytes: Buffer; name?: string; type?: string }): FormData {
  const fd = new FormData();
  if (file) fd.append(file.field ?? 'file', new Blob([file.bytes], { type: file.type ?? 'application/octet-stream' }), file.name ?? 'upload.png');
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fd;
}

export interface ApiJob {
  id: string;
  task: string;
  state: string;
  progress: { stage: string; done: number; total: number; fraction: number; etaSeconds?: number } | null;
  result: (Record<string, unknown> & { files: Array<{ name: string; url: string; sha256: string; type: string; role: string; bytes: number }> }) | null;
  error: { code: string; message: string } | null;
}

/** Polls until the job is done or failed. */
export async function waitJob(base: string, id: string, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<ApiJob> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await fetch(`${base}/api/v1/jobs/${id}`, { headers })).json()) as ApiJob;
    if (job.state === 'done' || job.state === 'failed') return job;
    if (Date.now() > until) throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reads a server-sent event stream to its end; returns the parsed `status` events. */
export async function readEvents(url: string): Promise<ApiJob[]> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: status'))
    .map(
      (block) =>
        JSON.parse(
          block
            .split('\n')
            .find((l) => l.startsWith('data: '))!
            .slice(6),
        ) as ApiJob,
    );
}

/** A Redis for tests and benches: $CLEARSIGHT_TEST_REDIS if set, else a private redis-server on a free port. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const given = process.env.CLEARSIGHT_TEST_REDIS;
  if (given) return { url: given, stop: async () => undefined };
  const { existsSync } = await import('node:fs');
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!bin) return undefined;
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-300)}`)));
  });
  child.stdout!.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A small H.264/MP4 clip (moving pattern, grey chroma) written with the video module. */
export async function fixtureClip(path: string, width: number, height: number, frames: number, fps = 25): Promise<string> {
  const { VideoWriter } = await import('../../src/video/index.js');
  const w = await VideoWriter.open(path, { width, height, crf: 18, fps });
  for (let t = 0; t < frames; t++) {
    const y = new Uint8Array(width * height);
    for (let r = 0; r < height; r++) for (let x = 0; x < width; x++) y[r * width + x] = 40 + ((((x + t) >> 2) ^ (r >> 2)) & 1) * 150;
    const c = (width >> 1) * (height >> 1);
    w.write({ width, height, y, u: new Uint8Array(c).fill(128), v: new Uint8Array(c).fill(128) });
  }
  await w.finish();
  return path;
}

/** A mid-tone smooth pattern, scored below 0.999 for every degradation: auto plans nothing for it at that threshold. */
export async function fixtureMidtones(width = 48, height = 32): Promise<Buffer> {
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) img.data[(y * width + x) * 3 + c] = 0.5 + 0.3 * Math.sin(x * 0.7 + c) * Math.cos(y * 0.5) + 0.05 * (x / width);
    }
  }
  return encodeImage(img, 'png');
}

/** A queue that accepts every job under `id` and never runs one: for tests of the HTTP layer alone. */
export function idleQueue(id = '00000000-0000-4000-8000-000000000000'): JobQueue {
  return {
    add: async () => id,
    get: async () => undefined,
    subscribe: () => () => undefined,
    workerPids: () => [],
    remove: async () => ({ outcome: 'not-found', blobs: [] }),
    activeInputs: async () => new Set(),
    close: async () => undefined,
  };
}

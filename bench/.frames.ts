import sharp from 'sharp';
import { readVideoFrames } from '../src/face/liveness/index.js';
const out: Buffer[] = [];
for (const n of ['d0', 'd9', 'd19', 'd3', 'd10']) {
  const c = await readVideoFrames(`/work/shared/data/face-videos/live-real/liveportrait_driving_${n}.mp4`, { maxSeconds: 1.3, maxSide: 256 });
  for (const t of [0, 36]) { const f = c.frames[Math.min(t, c.frames.length - 1)]!; out.push(await sharp(Buffer.from(Uint8Array.from(f.data, v => Math.round(v * 255))), { raw: { width: f.width, height: f.height, channels: 3 } }).resize(200, 200).png().toBuffer()); }
}
await sharp({ create: { width: 400, height: 1000, channels: 3, background: '#000' } }).composite(out.map((b, i) => ({ input: b, left: (i % 2) * 200, top: Math.floor(i / 2) * 200 }))).png().toFile('/tmp/lp.png');

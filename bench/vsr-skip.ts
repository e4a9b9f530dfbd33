/**
 * Codec-mode decision sweep: for each clip, cvsr on every frame, then cvsr in codec mode with each
 * option set given (JSON array; each set starts from skipThreshold 8, the earlier default), as
 * Y-PSNR against every frame and % of compute skipped. Used to choose cvsr's skip threshold and
 * tile (src/video/vsr.ts); the protocol is bench/vsr-models.ts's (x4 bicubic down, CRF 23, 10 frames).
 *
 *   node --import tsx bench/vsr-skip.ts '[{"skipThreshold":6},{"skipThreshold":6,"tile":16}]'
 *   CLIPS=walk,city ...                     only these clips
 *   EXTRA='[["guitar","more/MIT_EVM_guitar.mp4"],["calendar","<dir of PNG frames>/"]]' ...   more clips
 */
import path from 'node:path';
import sharp from 'sharp';
import { psnr } from '../src/core/metrics/index.js';
import { decodeVideo, decodeVideoRgb, rgbToYuv, superResolveFrames, VideoWriter, type DecodedFrame, type VsrOptions } from '../src/video/index.js';
import type { RawImage } from '../src/core/image/types.js';
const data = '/work/shared/data/video';
const files: Array<[string, string, [number, number]?]> = [
  ['city', 'more/vid4_city_gt_10f.mkv'],
  ['foliage', 'more/vid4_foliage_gt_10f.mkv'],
  ['walk', 'more/vid4_walk_gt_10f.mkv'],
  ['baby', 'more/MIT_EVM_baby.mp4', [640, 352]],
  ...(process.env.EXTRA ? JSON.parse(process.env.EXTRA) : []),
];
async function resize(img: RawImage, w: number, h: number): Promise<RawImage> {
  const u8 = Buffer.from(img.data.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  const out = await sharp(u8, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
  return { width: w, height: h, channels: 3, data: Float32Array.from(out, (v) => v / 255) };
}
function crop(img: RawImage, w: number, h: number): RawImage {
  const x0 = (img.width - w) >> 1,
    y0 = (img.height - h) >> 1;
  const d = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) d.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, channels: 3, data: d };
}
const sets: VsrOptions[] = JSON.parse(process.argv[2] ?? '[{}]');
const only = process.env.CLIPS?.split(',');
for (const [name, file, cr] of files) {
  if (only && !only.includes(name)) continue;
  const gt: RawImage[] = [];
  if (file.endsWith('/')) {
    const { readdirSync } = await import('node:fs');
    for (const n of readdirSync(file).sort().slice(0, 10)) {
      const { data: d, info } = await sharp(path.join(file, n)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      gt.push({ width: info.width, height: info.height, channels: 3, data: Float32Array.from(d, (v) => v / 255) });
    }
  } else
    for await (const f of decodeVideoRgb(path.isAbsolute(file) ? file : path.join(data, file))) {
      gt.push(cr ? crop(f.image, cr[0], cr[1]) : f.image);
      if (gt.length === 10) break;
    }
  const g4 = gt.map((f) => crop(f, f.width - (f.width % 4), f.height - (f.height % 4)));
  const lr = await Promise.all(g4.map((g) => resize(g, g.width / 4, g.height / 4)));
  const w = await VideoWriter.open('/tmp/skipdiag/sweep.mp4', { width: lr[0].width, height: lr[0].height, fps: 25, crf: 23, preset: 'medium', force: true });
  for (const f of lr) w.write(rgbToYuv(f));
  await w.finish();
  const dec: DecodedFrame[] = [];
  for await (const f of decodeVideo('/tmp/skipdiag/sweep.mp4')) dec.push(f);
  async function* replay() {
    yield* dec;
  }
  const run = async (o: VsrOptions) => {
    const ps: number[] = [];
    let c = 0;
    for await (const r of superResolveFrames(replay(), { model: 'cvsr', threads: 2, ...o })) {
      ps.push(psnr(r.image, g4[r.index], { channel: 'y', cropBorder: 0 }));
      c += r.computed;
    }
    return { p: ps.reduce((a, b) => a + b) / ps.length, skip: 1 - c / ps.length };
  };
  const full = await run({ mode: 'full' });
  const out = [`${name} full ${full.p.toFixed(3)}`];
  for (const o of sets) {
    const r = await run({ mode: 'codec', skipThreshold: 8, ...o });
    out.push(`${JSON.stringify(o)} ${(r.p - full.p >= 0 ? '+' : '') + (r.p - full.p).toFixed(3)} @ ${(r.skip * 100).toFixed(1)}%`);
  }
  console.log(out.join(' | '));
}

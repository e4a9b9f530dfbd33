/**
 * Does the watermark's DEFAULT embed verify? (w5-mark: adaptive strength, identity binding only
 * to a real face.) For every clean photo: embed with the library's defaults (identity: the largest
 * face, as the CLI's --identity auto, or none), write it as an 8-bit PNG, verify it (same identity
 * provider), and verify JPEG q90 and q75 re-saves of it. Reports the share AUTHENTIC, the PSNR and
 * SSIM of the marked PNG, the strength the embed settled on, and the face binding.
 *
 *   node --import tsx bench/watermarkDefaults.ts [--data <dir of photo folders>] [--identity auto|none] [--limit N] [--out file.json]
 *
 * Default data: ../shared/data/clean-photos (Kodak24, CBSD68, McMaster, Set14; not tuned on).
 */
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage, encodeImage } from '../src/core/image/io.js';
import type { RawImage } from '../src/core/image/types.js';
import { psnr, ssim } from '../src/core/metrics/index.js';
import { FaceModels } from '../src/face/index.js';
import { deriveWatermarkKey, embedWatermark, largestFaceIdentity, verifyWatermark, type IdentityProvider } from '../src/trust/watermark/index.js';
import { sharedData } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: sharedData('clean-photos') },
    identity: { type: 'string', default: 'auto' },
    limit: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const dataDir = path.resolve(args.data!);
const files = readdirSync(dataDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(path.join(dataDir, d.name))
      .filter((f) => /\.(png|jpe?g|tif)$/i.test(f))
      .map((f) => path.join(d.name, f)),
  )
  .sort();
const limit = Number.parseInt(args.limit!, 10) || files.length;
const chosen = files.filter((_, i) => i % Math.max(1, Math.floor(files.length / limit)) === 0).slice(0, limit);

const key = deriveWatermarkKey('clearsight-bench-defaults');
const models = args.identity === 'auto' ? await FaceModels.load({ mesh: false, embed: true }) : undefined;
const identity: IdentityProvider | null = models ? largestFaceIdentity(models) : null;

async function reread(img: RawImage, fmt: 'png' | 'jpeg', quality?: number): Promise<RawImage> {
  return (await decodeImage(await encodeImage(img, fmt, quality === undefined ? {} : { quality }))).image;
}
const rows: Array<Record<string, unknown>> = [];
for (const rel of chosen) {
  const buf = await sharp(path.join(dataDir, rel)).removeAlpha().toColourspace('srgb').png().toBuffer();
  const { image } = await decodeImage(buf);
  const t0 = performance.now();
  let res: Awaited<ReturnType<typeof embedWatermark>>;
  try {
    res = await embedWatermark(image, { key, source: 'bench', identity });
  } catch (e) {
    rows.push({ photo: rel, error: (e as { code?: string }).code ?? String(e) });
    console.log(rel, 'embed refused:', (e as Error).message);
    continue;
  }
  const embedMs = performance.now() - t0;
  const png = await reread(res.image, 'png');
  const verdictOf = async (img: RawImage) => {
    const v = await verifyWatermark(img, { key, ...(identity ? { identity } : {}) });
    return { verdict: v.verdict, ber: v.bitErrorRate };
  };
  const row = {
    photo: rel,
    width: image.width,
    height: image.height,
    mode: res.mode,
    ...(res.faceBox ? { faceSide: Math.round(Math.min(res.faceBox.width, res.faceBox.height)) } : {}),
    ...('identitySkipped' in res && res.identitySkipped ? { identitySkipped: res.identitySkipped } : {}),
    targetPsnr: res.targetPsnr,
    psnr: Math.round(psnr(image, png) * 100) / 100,
    ssim: Math.round(ssim(image, png) * 10000) / 10000,
    png: await verdictOf(png),
    jpeg90: await verdictOf(await reread(png, 'jpeg', 90)),
    jpeg75: await verdictOf(await reread(png, 'jpeg', 75)),
    embedMs: Math.round(embedMs),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
models?.dispose();
const ok = rows.filter((r) => !('error' in r)) as Array<{
  psnr: number;
  ssim: number;
  png: { verdict: string };
  jpeg90: { verdict: string };
  jpeg75: { verdict: string };
}>;
const share = (k: 'png' | 'jpeg90' | 'jpeg75') => ok.filter((r) => r[k].verdict === 'authentic').length;
const ps = ok.map((r) => r.psnr).sort((a, b) => a - b);
const summary = {
  photos: rows.length,
  refused: rows.length - ok.length,
  identity: args.identity,
  authentic: { png: share('png'), jpeg90: share('jpeg90'), jpeg75: share('jpeg75') },
  verdicts: Object.fromEntries(['authentic', 'manipulated', 'damaged', 'none'].map((v) => [v, ok.filter((r) => r.png.verdict === v).length])),
  psnr: { min: ps[0], median: ps[Math.floor(ps.length / 2)], mean: Math.round((ps.reduce((s, v) => s + v, 0) / Math.max(1, ps.length)) * 100) / 100 },
  ssimMin: Math.min(...ok.map((r) => r.ssim)),
};
console.log(JSON.stringify(summary));
if (args.out) await writeFile(args.out, `${JSON.stringify({ summary, rows }, null, 1)}\n`);

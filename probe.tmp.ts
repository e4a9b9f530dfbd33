import { readdirSync } from 'node:fs';
import sharp from 'sharp';
import { decodeImage } from './src/core/image/index.js';
import { embedWatermark, extractWatermark, deriveWatermarkKey } from './src/trust/watermark/index.js';
import { encodeImage } from './src/core/image/index.js';
const k1 = deriveWatermarkKey('first-key'); const k2 = deriveWatermarkKey('second-key');
const dirs = ['/work/shared/data/faces/deepface', '/work/shared/data/clean-photos'];
const files: string[] = [];
for (const d of dirs) { try { for (const f of readdirSync(d)) if (/\.(jpg|png)$/i.test(f)) files.push(`${d}/${f}`); } catch {} }
const pick = files.filter((_, i) => i % Math.max(1, Math.floor(files.length / 16)) === 0).slice(0, 16);
const rows: string[] = [];
for (const f of pick) {
  const { image } = await decodeImage(f);
  if (Math.min(image.width, image.height) < 144) continue;
  const un = extractWatermark(image, k1);
  const m2 = await embedWatermark(image, { key: k2, source: 'b', identity: null });
  const other = extractWatermark(m2.image, k1);
  const m1 = await embedWatermark(image, { key: k1, source: 'a', identity: null });
  const jpg = await decodeImage(await sharp(await encodeImage(m1.image, 'png')).jpeg({ quality: 50 }).toBuffer());
  const j = extractWatermark(jpg.image, k1);
  const re = await embedWatermark(m1.image, { key: k1, source: 'c', identity: null });
  const r = extractWatermark(re.image, k1);
  rows.push(`${f.split('/').slice(-1)[0]} unmarked sync=${un.syncScore.toFixed(1)} found=${un.found} | k2-only sync=${other.syncScore.toFixed(1)} found=${other.found} | jpeg50 found=${j.found} ber=${j.bitErrorRate.toFixed(3)} sync=${j.syncScore.toFixed(1)} | remarked found=${r.found} sync=${r.syncScore.toFixed(1)} ber=${r.bitErrorRate.toFixed(3)}`);
}
console.log(rows.join('\n'));

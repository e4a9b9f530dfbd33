/**
 * `faces --annotate` and `compare` (issue 21 point 9), on crops of the @vladmandic/human
 * package's sample collage (a man at a table; a woman in a product shot): the drawing lands on
 * the detected box and leaves the rest of the picture alone; the same face compares as the same
 * person (exit 0), two people as different (exit 40), a picture without a face is E_NO_FACE (3).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../src/core/image/index.js';
import { faceAnnotationSvg } from '../src/face/annotate.js';
import type { Face } from '../src/face/faces.js';
import { runCli } from './helpers/cli.js';

let dir: string;
let man: string;
let woman: string;
let wall: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'clearsight-faces-'));
  const samples = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
  man = path.join(dir, 'man.png');
  woman = path.join(dir, 'woman.png');
  wall = path.join(dir, 'wall.png');
  await sharp(samples).extract({ left: 326, top: 0, width: 210, height: 158 }).png().toFile(man);
  await sharp(samples).extract({ left: 0, top: 0, width: 320, height: 289 }).png().toFile(woman);
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 120, g: 110, b: 100 } } })
    .png()
    .toFile(wall);
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('faces --annotate', () => {
  it('the SVG has one box and label per face, 6 keypoints each, and the mesh points when present', () => {
    const face = (x: number, quality: number, mesh: boolean): Face =>
      ({
        box: { x, y: 10, width: 40, height: 40 },
        score: 0.9,
        quality,
        keypoints: new Float32Array(12).fill(x + 5),
        region: { cx: 0, cy: 0, size: 1, angle: 0 },
        ...(mesh ? { landmarks: new Float32Array(468 * 3).fill(x + 9) } : {}),
      }) as unknown as Face;
    const svg = faceAnnotationSvg(200, 100, [face(10, 0.8, true), face(100, 0.2, false)]);
    assert.equal(svg.match(/<rect /g)?.length, 2);
    assert.equal(svg.match(/<circle /g)?.length, 6 + 468 + 6);
    assert.match(svg, /#1 q 0\.80.*#2 q 0\.20/);
    assert.match(svg, /stroke="#22c55e"[^>]*\/>.*stroke="#f59e0b"/, 'usable quality green, low amber');
  });

  it('draws on the detected box and nowhere far from it; the JSON names the file', async () => {
    const out = path.join(dir, 'man-annotated.png');
    const r = await runCli(['faces', man, '--json', '--annotate', out]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { annotated: string; faces: Array<{ box: { x: number; y: number; width: number; height: number } }> };
    assert.equal(json.annotated, out);
    const box = json.faces[0]!.box;
    const [src, drawn] = [await decodeImage(man), await decodeImage(out)];
    assert.deepEqual([drawn.image.width, drawn.image.height], [src.image.width, src.image.height]);
    const at = (img: typeof src.image, x: number, y: number) =>
      Array.from(img.data.subarray((Math.round(y) * img.width + Math.round(x)) * 3, (Math.round(y) * img.width + Math.round(x)) * 3 + 3));
    const edge = at(drawn.image, box.x + box.width / 2, box.y + box.height); // bottom edge of the box
    assert.ok(Math.abs(edge[0]! - at(src.image, box.x + box.width / 2, box.y + box.height)[0]!) > 0.2, `the box is drawn: ${edge}`);
    assert.deepEqual(at(drawn.image, 5, src.image.height - 5), at(src.image, 5, src.image.height - 5), 'a corner far from the face is untouched');
    const again = await runCli(['faces', man, '--annotate', out]);
    assert.equal(again.code, 4, 'an existing file is not overwritten without --force');
  });
});

describe('compare', () => {
  it('same face: exit 0, similarity 1; two people: exit 40; no face: E_NO_FACE', async () => {
    const [same, different, none] = await Promise.all([
      runCli(['compare', man, man, '--json']),
      runCli(['compare', man, woman, '--json']),
      runCli(['compare', man, wall]),
    ]);
    assert.equal(same.code, 0, same.stderr);
    const s = JSON.parse(same.stdout) as { similarity: number; same: boolean; threshold: number };
    assert.ok(s.same && s.similarity > 0.999, same.stdout);
    assert.equal(different.code, 40, different.stderr);
    const d = JSON.parse(different.stdout) as { similarity: number; same: boolean };
    assert.ok(!d.same && d.similarity < 0.56, different.stdout);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /No face found in ".*wall\.png" \[E_NO_FACE\]/);
  });
});

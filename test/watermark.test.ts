import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeImage, encodeImage } from '../src/core/image/io.js';
import { cropImage } from '../src/core/image/geometry.js';
import { createImage, type RawImage } from '../src/core/image/types.js';
import { psnr, ssim } from '../src/core/metrics/index.js';
import { mulberry32 } from '../src/core/random.js';
import {
  chaoticBits,
  chaoticPermutation,
  codedLength,
  convEncode,
  decodeSource,
  deriveWatermarkKey,
  embedWatermark,
  encodeSource,
  GUARANTEED_CORRECTION,
  identityCode,
  packPayload,
  PAYLOAD_BITS,
  unpackPayload,
  verifyWatermark,
  viterbiDecode,
} from '../src/trust/watermark/index.js';
import { DAMAGED_BIT_ERROR_RATE } from '../src/trust/watermark/verify.js';
import { ClearsightError } from '../src/core/errors.js';
import { readFile } from 'node:fs/promises';
import { as8bit } from '../src/trust/watermark/embed.js';
import { MIN_IDENTITY_FACE_QUALITY, type IdentityProvider } from '../src/trust/watermark/index.js';

// Derive keys once: scrypt is deliberately slow.
const KEY = deriveWatermarkKey('correct horse battery staple');
const OTHER_KEY = deriveWatermarkKey('correct horse battery stapler');

/** A seeded textured test picture: smooth colour gradients, sinusoid texture and soft blobs. */
function texturedImage(w: number, h: number, seed = 7): RawImage {
  const rnd = mulberry32(seed);
  const img = createImage(w, h, 3);
  const blobs = Array.from({ length: 12 }, () => ({ x: rnd() * w, y: rnd() * h, r: 10 + rnd() * 40, a: rnd() - 0.5 }));
  // Value noise on a 16-pixel lattice (bilinear): photo-like fine texture.
  const gw = Math.ceil(w / 16) + 2;
  const lattice = Float32Array.from({ length: gw * (Math.ceil(h / 16) + 2) }, () => rnd() - 0.5);
  const noise = (x: number, y: number) => {
    const gx = x / 16;
    const gy = y / 16;
    const i = Math.floor(gx);
    const j = Math.floor(gy);
    const fx0 = gx - i;
    const fy0 = gy - j;
    const at = (a: number, b: number) => lattice[b * gw + a];
    return (at(i, j) * (1 - fx0) + at(i + 1, j) * fx0) * (1 - fy0) + (at(i, j + 1) * (1 - fx0) + at(i + 1, j + 1) * fx0) * fy0;
  };
  const fx = 0.05 + rnd() * 0.2;
  const fy = 0.05 + rnd() * 0.2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0.35 + (0.3 * x) / w + 0.08 * Math.sin(fx * x + 0.7 * Math.sin(fy * y)) + 0.3 * noise(x, y) + 0.03 * (rnd() - 0.5);
      for (const b of blobs) v += 0.25 * b.a * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r));
      for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = Math.min(1, Math.max(0, v + 0.06 * (c - 1) * Math.sin(0.02 * y + c)));
    }
  }
  return img;
}

function randomEmbedding(seed: number, d = 128): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: d }, () => rnd() - 0.5);
}

async function jpeg(img: RawImage, quality: number): Promise<RawImage> {
  return (await decodeImage(await encodeImage(img, 'jpeg', { quality }))).image;
}

/** Box-average 2x downscale (what a 0.5x resize does). */
function halve(img: RawImage): RawImage {
  const w = Math.floor(img.width / 2);
  const h = Math.floor(img.height / 2);
  const out = createImage(w, h, 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 3 + c];
        out.data[(y * w + x) * 3 + c] = (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1)) / 4;
      }
  return out;
}

/** NIST SP 800-22 frequency (monobit) test p-value. */
function monobitP(bits: Uint8Array): number {
  let s = 0;
  for (const b of bits) s += b ? 1 : -1;
  return erfc(Math.abs(s) / Math.sqrt(bits.length) / Math.SQRT2);
}

/** NIST SP 800-22 runs test p-value. */
function runsP(bits: Uint8Array): number {
  const n = bits.length;
  let ones = 0;
  for (const b of bits) ones += b;
  const pi = ones / n;
  if (Math.abs(pi - 0.5) >= 2 / Math.sqrt(n)) return 0;
  let v = 1;
  for (let i = 1; i < n; i++) if (bits[i] !== bits[i - 1]) v++;
  return erfc(Math.abs(v - 2 * n * pi * (1 - pi)) / (2 * Math.sqrt(2 * n) * pi * (1 - pi)));
}

/** erfc by the Numerical Recipes Chebyshev fit (|error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

describe('watermark ECC (K=7 rate-1/2 convolutional, soft Viterbi)', () => {
  it('corrects every pattern of up to 4 hard errors (d_free = 10)', () => {
    assert.equal(GUARANTEED_CORRECTION, 4);
    const rnd = mulberry32(11);
    for (let trial = 0; trial < 200; trial++) {
      const info = Uint8Array.from({ length: PAYLOAD_BITS }, () => (rnd() < 0.5 ? 1 : 0));
      const coded = convEncode(info);
      assert.equal(coded.length, codedLength(PAYLOAD_BITS));
      const soft: number[] = Array.from(coded, (b) => (b ? 1 : -1));
      const flipped = new Set<number>();
      while (flipped.size < GUARANTEED_CORRECTION) flipped.add(Math.floor(rnd() * soft.length));
      for (const i of flipped) soft[i] = -soft[i];
      assert.deepEqual(viterbiDecode(soft, PAYLOAD_BITS), info);
    }
  });

  it('uses soft values: 10% weak flips and 20% erasures still decode; a burst of 12 flips does not', () => {
    const rnd = mulberry32(12);
    const info = Uint8Array.from({ length: PAYLOAD_BITS }, () => (rnd() < 0.5 ? 1 : 0));
    const coded = convEncode(info);
    const soft: number[] = Array.from(coded, (b) => (b ? 1 : -1) * (0.5 + rnd()));
    for (let i = 0; i < soft.length; i++) {
      const u = rnd();
      if (u < 0.1) soft[i] = -0.2 * Math.sign(soft[i]);
      else if (u < 0.3) soft[i] = 0;
    }
    assert.deepEqual(viterbiDecode(soft, PAYLOAD_BITS), info);
    const burst: number[] = Array.from(coded, (b) => (b ? 1 : -1));
    for (let i = 40; i < 52; i++) burst[i] = -burst[i];
    assert.notDeepEqual(viterbiDecode(burst, PAYLOAD_BITS), info);
  });
});

describe('watermark chaotic cipher and keys', () => {
  it('keystream passes the NIST SP 800-22 monobit and runs tests', () => {
    for (const seed of [KEY.keystreamSeed, OTHER_KEY.keystreamSeed, KEY.chipSeed]) {
      const bits = chaoticBits(seed, 100_000);
      assert.ok(monobitP(bits) >= 0.01, `monobit p = ${monobitP(bits)}`);
      assert.ok(runsP(bits) >= 0.01, `runs p = ${runsP(bits)}`);
    }
  });

  it('the NIST checks reject a biased and a too-regular stream (they can fail)', () => {
    const biased = Uint8Array.from({ length: 10_000 }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const alternating = Uint8Array.from({ length: 10_000 }, (_, i) => i & 1);
    assert.ok(monobitP(biased) < 0.01);
    assert.ok(runsP(alternating) < 0.01);
  });

  it('a one-character change of the secret gives an unrelated keystream and permutation', () => {
    const a = chaoticBits(KEY.keystreamSeed, 4096);
    const b = chaoticBits(OTHER_KEY.keystreamSeed, 4096);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += a[i] ^ b[i];
    assert.ok(diff > 1900 && diff < 2200, `differing bits ${diff}`);
    const p = chaoticPermutation(KEY.permutationSeed, 1024);
    assert.deepEqual(
      [...p].sort((x, y) => x - y),
      Array.from({ length: 1024 }, (_, i) => i),
    );
    assert.notDeepEqual(p, chaoticPermutation(OTHER_KEY.permutationSeed, 1024));
    assert.notEqual(KEY.fingerprint, OTHER_KEY.fingerprint);
    assert.equal(deriveWatermarkKey('correct horse battery staple').fingerprint, KEY.fingerprint);
  });

  it('payload round trip; the keyed MAC rejects another key and any flipped bit', () => {
    const identity = identityCode(randomEmbedding(1), KEY);
    const bits = packPayload({ identityBound: true, source: 'news-7', identity }, KEY);
    const back = unpackPayload(bits, KEY);
    assert.ok(back);
    assert.equal(back.source, 'news-7');
    assert.equal(back.identityBound, true);
    assert.deepEqual(back.identity, identity);
    assert.equal(unpackPayload(bits, OTHER_KEY), undefined);
    for (const i of [0, 20, 70, 120]) {
      const bad = bits.slice();
      bad[i] ^= 1;
      assert.equal(unpackPayload(bad, KEY), undefined);
    }
    for (const s of ['a', 'zzzzzz', '0', 'a.b_c-', '9x']) assert.equal(decodeSource(encodeSource(s)), s);
  });

  it('identity codes: close embeddings give close codes, unrelated ones about half the bits', () => {
    const e = randomEmbedding(5, 512);
    const near = Float32Array.from(e, (v, i) => v + 0.05 * Math.sin(i));
    const far = randomEmbedding(6, 512);
    const a = identityCode(e, KEY);
    const dist = (x: Uint8Array, y: Uint8Array) => x.reduce((s, v, i) => s + (v ^ y[i]), 0);
    assert.ok(dist(a, identityCode(near, KEY)) <= 6);
    const dFar = dist(a, identityCode(far, KEY));
    assert.ok(dFar >= 20 && dFar <= 44, `far distance ${dFar}`);
    assert.ok(dist(a, identityCode(e, OTHER_KEY)) >= 16, 'the projection depends on the key');
  });
});

describe('watermark embed and verify', () => {
  const img = texturedImage(256, 256);
  const face = randomEmbedding(21);
  let marked: RawImage;

  it('is imperceptible: PSNR >= 40 dB and SSIM >= 0.98', async () => {
    const res = await embedWatermark(img, { key: KEY, source: 'cs1', identity: face });
    marked = res.image;
    assert.equal(res.mode, 'identity');
    const p = psnr(img, marked);
    const s = ssim(img, marked);
    assert.ok(p >= 40, `PSNR ${p}`);
    assert.ok(s >= 0.98, `SSIM ${s}`);
    assert.ok(p < 45, `PSNR ${p}: the mark should use its budget`);
  });

  it('round trip: authentic with the source, and after JPEG 75, 0.5x resize and a 10% crop', async () => {
    const cases: Record<string, RawImage> = {
      clean: marked,
      jpeg75: await jpeg(marked, 75),
      resize05: halve(marked),
      crop10: cropImage(marked, 26, 13, 205, 218),
    };
    for (const [name, att] of Object.entries(cases)) {
      const r = await verifyWatermark(att, { key: KEY, identity: face });
      assert.equal(r.verdict, 'authentic', `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.source, 'cs1', name);
      assert.ok(r.bitErrorRate !== null && r.bitErrorRate < 0.2, `${name} BER ${r.bitErrorRate}`);
      assert.ok(r.confidence > 0, name);
    }
  });

  it('wrong key and unmarked image give none, never a wrong identity', async () => {
    const wrong = await verifyWatermark(marked, { key: OTHER_KEY, identity: face });
    assert.equal(wrong.verdict, 'none');
    assert.equal(wrong.source, null);
    const plain = await verifyWatermark(img, { key: KEY, identity: face });
    assert.equal(plain.verdict, 'none');
  });

  it('identity mismatch (a swapped face) and a missing face give manipulated', async () => {
    const other = await verifyWatermark(marked, { key: KEY, identity: randomEmbedding(99) });
    assert.equal(other.verdict, 'manipulated');
    assert.equal(other.source, 'cs1');
    assert.ok(other.identity?.distance !== undefined && other.identity.distance > 14);
    const viaProvider = await verifyWatermark(marked, {
      key: KEY,
      identity: async () => ({ embedding: randomEmbedding(98), box: { x: 1, y: 2, width: 3, height: 4 } }),
    });
    assert.equal(viaProvider.verdict, 'manipulated');
    const gone = await verifyWatermark(marked, { key: KEY, identity: null });
    assert.equal(gone.verdict, 'manipulated');
    assert.equal(gone.identity?.facePresent, false);
    const unchecked = await verifyWatermark(marked, { key: KEY });
    assert.equal(unchecked.verdict, 'authentic');
    assert.equal(unchecked.identity?.checked, false);
  });

  it('embed refuses a picture already marked under its key (says so), unless force', async () => {
    await assert.rejects(
      embedWatermark(marked, { key: KEY, source: 'two', identity: face }),
      (e: unknown) =>
        e instanceof ClearsightError && e.code === 'E_ALREADY_MARKED' && /already carries a watermark under this key \(source "cs1"\).*force/.test(e.message),
    );
    const again = await embedWatermark(marked, { key: KEY, source: 'two', identity: face, force: true });
    assert.equal(again.source, 'two');
    // Re-marked with the same key: the two marks share the pilot; verify must not say "none" (a
    // mark is plainly there) nor "manipulated" (the face did not change).
    const r = await verifyWatermark(again.image, { key: KEY, identity: face });
    assert.ok(r.verdict === 'damaged' || (r.verdict === 'authentic' && (r.source === 'cs1' || r.source === 'two')), JSON.stringify(r));
    // Another key cannot read the mark, so it is not refused (and cannot be: the mark is secret).
    assert.equal((await embedWatermark(marked, { key: OTHER_KEY, source: 'oth', identity: face })).source, 'oth');
  });

  it('a second mark under another key: "damaged", not "manipulated", unless the identity evidence is strong', async () => {
    const twice = (await embedWatermark(marked, { key: OTHER_KEY, source: 'oth', identity: face })).image;
    const once = await verifyWatermark(marked, { key: KEY, identity: face });
    const clean = once.bitErrorRate!;
    const r0 = await verifyWatermark(twice, { key: KEY, identity: face });
    assert.equal(r0.source, 'cs1');
    assert.ok(r0.bitErrorRate! > DAMAGED_BIT_ERROR_RATE && r0.bitErrorRate! > clean, `second mark: BER ${r0.bitErrorRate} (once ${clean})`);
    // Faces at chosen distances from the carried identity: a moderate drift and another person.
    const carried = identityCode(face, KEY);
    const at = (lo: number, hi: number) => {
      for (let seed = 1; seed < 5000; seed++) {
        const rnd = mulberry32(seed);
        const k = lo < 20 ? 0.9 : 3;
        const e = Float32Array.from(face, (v) => v + k * (rnd() - 0.5));
        const d = identityCode(e, KEY).reduce((s, b, i) => s + (b ^ carried[i]), 0);
        if (d >= lo && d <= hi) return e;
      }
      throw new Error(`no embedding at distance ${lo}..${hi}`);
    };
    const drifted = at(15, 19);
    const stranger = at(24, 40);
    const moderate = await verifyWatermark(twice, { key: KEY, identity: drifted });
    assert.equal(moderate.verdict, 'damaged', JSON.stringify(moderate));
    assert.match(moderate.reason!, /damaged .* not evidence of a face change/);
    assert.equal((await verifyWatermark(marked, { key: KEY, identity: drifted })).verdict, 'manipulated', 'the same drift on a clean mark is a changed face');
    const swapped = await verifyWatermark(twice, { key: KEY, identity: stranger });
    assert.equal(swapped.verdict, 'manipulated', "another person's face is evidence even through a damaged mark");
    assert.match(swapped.reason!, /another person/);
  });

  it('whole-image mode when there is no identity', async () => {
    const res = await embedWatermark(img, { key: KEY, source: 'abc', identity: async () => null });
    assert.equal(res.mode, 'whole-image');
    const r = await verifyWatermark(res.image, { key: 'correct horse battery staple' });
    assert.equal(r.verdict, 'authentic');
    assert.equal(r.mode, 'whole-image');
    assert.equal(r.source, 'abc');
  });

  it('rejects bad inputs with clear error codes', async () => {
    const expectCode = async (p: Promise<unknown>, code: string, re: RegExp) => {
      await assert.rejects(p, (e: unknown) => e instanceof ClearsightError && e.code === code && re.test(e.message));
    };
    await expectCode(embedWatermark(img, { key: '', source: 'abc' }), 'E_INVALID_OPTION', /key/);
    await expectCode(embedWatermark(img, { key: KEY, source: 'toolongid' }), 'E_INVALID_OPTION', /source.*1 to 6/);
    await expectCode(embedWatermark(img, { key: KEY, source: 'ABC' }), 'E_INVALID_OPTION', /source/);
    await expectCode(embedWatermark(texturedImage(100, 300), { key: KEY, source: 'abc' }), 'E_INPUT_TOO_SMALL', /at least 144/);
    await expectCode(verifyWatermark(texturedImage(40, 40), { key: KEY }), 'E_INPUT_TOO_SMALL', /at least 64/);
    await expectCode(embedWatermark(img, { key: KEY, source: 'abc', identity: [1, 2] }), 'E_INVALID_OPTION', /identity/);
    await expectCode(embedWatermark(img, { key: KEY, source: 'abc', targetPsnr: 10 }), 'E_INVALID_OPTION', /targetPsnr/);
  });
});

describe('watermark defaults that verify (adaptive strength)', () => {
  it('a picture that masks the mark at the target (examples/rain.png at 41 dB) is strengthened until it verifies, within the 35 dB floor', async () => {
    const { image } = await decodeImage(await readFile('examples/rain.png'));
    const res = await embedWatermark(image, { key: KEY, source: 'rain', identity: null });
    assert.equal(res.requestedPsnr, 41);
    assert.ok(res.targetPsnr < 41 && res.targetPsnr >= 35, `settled at ${res.targetPsnr} dB`);
    assert.ok(res.readBack.decoded && res.readBack.tries > 1, JSON.stringify(res.readBack));
    const written = as8bit(res.image);
    assert.ok(psnr(image, written) >= 34.8, `PSNR ${psnr(image, written)}`);
    const r = await verifyWatermark(written, { key: KEY });
    assert.equal(r.verdict, 'authentic', JSON.stringify(r));
    assert.equal(r.source, 'rain');
    assert.equal(r.bitErrorRate, res.readBack.bitErrorRate);
  });

  it('a picture that reads back clean at the target is not strengthened', async () => {
    const img = texturedImage(256, 256, 11);
    const res = await embedWatermark(img, { key: KEY, source: 'tex', identity: null });
    assert.equal(res.targetPsnr, 41);
    assert.deepEqual({ ...res.readBack, bitErrorRate: undefined }, { decoded: true, clean: true, tries: 1, bitErrorRate: undefined });
    assert.ok(res.readBack.bitErrorRate! <= 0.03);
  });

  it('a mark that cannot read back even at the floor is refused (E_WATERMARK_WEAK), or returned with allowWeak', async () => {
    const { image } = await decodeImage(await readFile('examples/rain.png'));
    await assert.rejects(
      embedWatermark(image, { key: KEY, source: 'rain', identity: null, minPsnr: 41 }),
      (e: unknown) => e instanceof ClearsightError && e.code === 'E_WATERMARK_WEAK' && /does not read back.*41 dB.*--min-psnr.*--allow-weak/.test(e.message),
    );
    const weak = await embedWatermark(image, { key: KEY, source: 'rain', identity: null, minPsnr: 41, allowWeak: true });
    assert.deepEqual(weak.readBack, { decoded: false, bitErrorRate: null, clean: false, tries: 1 });
    // The read-back is what the caller says the file holds: a channel that loses the mark is tried at every step (41, 39, 37, 35 dB).
    const img = texturedImage(256, 256, 12);
    const seen: number[] = [];
    await assert.rejects(
      embedWatermark(img, {
        key: KEY,
        source: 'tex',
        identity: null,
        readBack: async (m) => {
          seen.push(psnr(img, m));
          return img;
        },
      }),
      (e: unknown) => e instanceof ClearsightError && e.code === 'E_WATERMARK_WEAK',
    );
    assert.equal(seen.length, 4);
    assert.ok(seen[0]! > seen[3]! + 4, `PSNRs tried ${seen.map((p) => p.toFixed(1)).join(', ')}`);
    await assert.rejects(
      embedWatermark(img, { key: KEY, source: 'tex', minPsnr: 42 }),
      (e: unknown) => e instanceof ClearsightError && e.code === 'E_INVALID_OPTION' && /minPsnr/.test(e.message),
    );
  });
});

describe('watermark identity binding only to a usable face', () => {
  const img = texturedImage(256, 256, 13);
  /** A detector's false "face": small, unsure, and its embedding does not survive the mark (another one every call). */
  const falseFace = (side: number, quality: number): IdentityProvider => {
    let seed = 500;
    return async () => ({ embedding: randomEmbedding(seed++), box: { x: 60, y: 80, width: side, height: side }, quality });
  };

  it('a 17 px false face is not bound: whole-image mode, said why, and verify (which finds the false face again) says authentic, not manipulated', async () => {
    const res = await embedWatermark(img, { key: KEY, source: 'ff', identity: falseFace(17, 0.12) });
    assert.equal(res.mode, 'whole-image');
    assert.equal(res.faceBox, undefined);
    assert.match(res.identitySkipped!.reason, /too small to bind \(17 px, quality 0\.12; at least 40 px\)/);
    assert.equal(res.identitySkipped!.quality, 0.12);
    const r = await verifyWatermark(as8bit(res.image), { key: KEY, identity: falseFace(17, 0.12) });
    assert.equal(r.verdict, 'authentic', JSON.stringify(r));
    assert.equal(r.mode, 'whole-image');
  });

  it('a usable face that does not match itself in the marked picture is not bound (verify would say manipulated); one that does is', async () => {
    const face = randomEmbedding(31);
    let calls = 0;
    // The first call sees the original; every later one (the read-backs) another embedding: a face the mark moves.
    const moving: IdentityProvider = async () => ({
      embedding: calls++ === 0 ? face : randomEmbedding(600 + calls),
      box: { x: 40, y: 40, width: 120, height: 120 },
      quality: 0.9,
    });
    const res = await embedWatermark(img, { key: KEY, source: 'mv', identity: moving });
    assert.equal(res.mode, 'whole-image');
    assert.match(res.identitySkipped!.reason, /does not match itself in the marked picture \(distance \d+\/64 > 14\)/);
    assert.ok(calls >= 2, 'the face was looked for again in the read-back');
    assert.equal((await verifyWatermark(as8bit(res.image), { key: KEY, identity: randomEmbedding(700) })).verdict, 'authentic');
    const stable = await embedWatermark(img, {
      key: KEY,
      source: 'mv',
      identity: async () => ({ embedding: face, box: { x: 40, y: 40, width: 120, height: 120 }, quality: 0.9 }),
    });
    assert.equal(stable.mode, 'identity');
  });

  it('the mark spares the bound face (its pixels move about 4x less than the rest), so the mark cannot move the identity it carries', async () => {
    const box = { x: 64, y: 64, width: 96, height: 96 };
    const meanChange = (a: RawImage, b: RawImage, inside: boolean) => {
      let s = 0;
      let n = 0;
      for (let y = 0; y < a.height; y++)
        for (let x = 0; x < a.width; x++) {
          // Inside the box proper, or well outside its 15% margin.
          const inBox = x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
          const farOut = x < box.x - 30 || x >= box.x + box.width + 30 || y < box.y - 30 || y >= box.y + box.height + 30;
          if (inside ? !inBox : !farOut) continue;
          const i = (y * a.width + x) * 3;
          s += Math.abs(a.data[i]! - b.data[i]!);
          n++;
        }
      return s / n;
    };
    const bound = await embedWatermark(img, { key: KEY, source: 'fc', identity: { embedding: randomEmbedding(5), box, quality: 0.9 } });
    assert.equal(bound.mode, 'identity');
    const ratio = meanChange(img, bound.image, true) / meanChange(img, bound.image, false);
    assert.ok(ratio < 0.45, `inside/outside change ${ratio.toFixed(2)}`);
    const whole = await embedWatermark(img, { key: KEY, source: 'fc', identity: null });
    const wholeRatio = meanChange(img, whole.image, true) / meanChange(img, whole.image, false);
    assert.ok(wholeRatio > 0.6, `whole-image inside/outside ${wholeRatio.toFixed(2)}`);
    assert.equal((await verifyWatermark(as8bit(bound.image), { key: KEY, identity: randomEmbedding(5) })).verdict, 'authentic');
  });

  it('a large but unsure face (low quality) is not bound either; a usable one is', async () => {
    const unsure = await embedWatermark(img, { key: KEY, source: 'ff', identity: falseFace(120, MIN_IDENTITY_FACE_QUALITY - 0.1) });
    assert.equal(unsure.mode, 'whole-image');
    assert.match(unsure.identitySkipped!.reason, /too unsure a face to bind \(120 px, quality 0\.40; quality at least 0\.5\)/);
    const face = randomEmbedding(77);
    const good = await embedWatermark(img, {
      key: KEY,
      source: 'ff',
      identity: { embedding: face, box: { x: 40, y: 40, width: 120, height: 130 }, quality: 0.8 },
    });
    assert.equal(good.mode, 'identity');
    assert.equal(good.identitySkipped, undefined);
    assert.equal((await verifyWatermark(as8bit(good.image), { key: KEY, identity: face })).verdict, 'authentic');
  });
});

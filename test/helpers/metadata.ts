/** A JPEG made here that carries metadata: EXIF Make "TestCam", Orientation 6, sharp's Display P3 profile. */
import sharp from 'sharp';

/** 8x4 stored, orientation 6 (shown rotated 90° clockwise: 4 wide, 8 tall); left half red, right half blue. */
export async function exifJpeg(): Promise<Buffer> {
  const w = 8;
  const h = 4;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (x < w / 2) px.set([220, 40, 30], i);
      else px.set([30, 60, 210], i);
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .withIccProfile('p3')
    .withExif({ IFD0: { Make: 'TestCam', Model: 'X1' } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 100 })
    .toBuffer();
}

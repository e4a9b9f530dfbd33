/** Drawing on a RawImage: an SVG overlay rendered and composited by sharp (librsvg). */
import sharp from 'sharp';
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';
import { createImage, type RawImage } from './types.js';

/** `img` (RGB) with the SVG document `svg` (same size; transparent where nothing is drawn) drawn over it. */
export async function overlaySvg(img: RawImage, svg: string): Promise<RawImage> {
  if (img.channels !== 3) throw invalidOption('image', 'an RGB RawImage', `${img.channels} channels`);
  const u8 = new Uint8Array(img.data.length);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.round(Math.min(1, Math.max(0, img.data[i]!)) * 255);
  let data: Buffer;
  try {
    data = await sharp(u8, { raw: { width: img.width, height: img.height, channels: 3 } })
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (err) {
    throw new ClearsightError(
      ERROR_CODES.RUNTIME,
      `drawing the overlay failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      {},
      { cause: err },
    );
  }
  return createImage(
    img.width,
    img.height,
    3,
    Float32Array.from(data, (v) => v / 255),
  );
}

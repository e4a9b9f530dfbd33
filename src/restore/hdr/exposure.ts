/**
 * Exposure times of a bracket: from EXIF (ExposureTime, tag 0x829A, read by a small TIFF/EXIF
 * parser), from a user list ("1/320,1/80,0.5") or from exposure values ("-2,0,2": t = 2^ev, times
 * relative to the EV 0 frame, which is all the merge needs).
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';

const EXPOSURE_TIME = 0x829a;
const EXIF_IFD_POINTER = 0x8769;

/**
 * The ExposureTime (seconds) in an EXIF block as sharp's `metadata().exif` returns it (starting
 * with "Exif\0\0", or directly with the TIFF header "II*\0" / "MM\0*"). Undefined when absent
 * or unreadable: the caller decides whether that is an error.
 */
export function exifExposureTime(exif: Uint8Array | undefined): number | undefined {
  if (!exif || exif.length < 8) return undefined;
  let base = 0;
  if (exif[0] === 0x45 && exif[1] === 0x78 && exif[2] === 0x69 && exif[3] === 0x66) base = 6; // "Exif\0\0"
  const view = new DataView(exif.buffer, exif.byteOffset, exif.byteLength);
  if (base + 8 > exif.length) return undefined;
  const order = view.getUint16(base);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const le = order === 0x4949;
  const u16 = (o: number) => view.getUint16(base + o, le);
  const u32 = (o: number) => view.getUint32(base + o, le);
  if (u16(2) !== 42) return undefined;
  const inRange = (o: number, n: number) => o >= 0 && base + o + n <= exif.length;
  /** Reads one IFD; returns ExposureTime if present, and the Exif sub-IFD offset. */
  const readIfd = (offset: number): { time?: number; exifIfd?: number } => {
    if (!inRange(offset, 2)) return {};
    const count = u16(offset);
    const found: { time?: number; exifIfd?: number } = {};
    for (let k = 0; k < count; k++) {
      const entry = offset + 2 + k * 12;
      if (!inRange(entry, 12)) break;
      const tag = u16(entry);
      const type = u16(entry + 2);
      if (tag === EXPOSURE_TIME && type === 5) {
        // RATIONAL: two uint32 at the offset in the value field (8 bytes never fit inline).
        const at = u32(entry + 8);
        if (inRange(at, 8)) {
          const num = u32(at);
          const den = u32(at + 4);
          if (den > 0) found.time = num / den;
        }
      } else if (tag === EXPOSURE_TIME && type === 10) {
        const at = u32(entry + 8);
        if (inRange(at, 8)) {
          const num = view.getInt32(base + at, le);
          const den = view.getInt32(base + at + 4, le);
          if (den !== 0) found.time = num / den;
        }
      } else if (tag === EXIF_IFD_POINTER && (type === 4 || type === 13)) {
        found.exifIfd = u32(entry + 8);
      }
    }
    return found;
  };
  const ifd0 = readIfd(u32(4));
  if (ifd0.exifIfd !== undefined) {
    const sub = readIfd(ifd0.exifIfd);
    if (sub.time !== undefined) return sub.time;
  }
  return ifd0.time;
}

/** Parses "1/320,1/80,0.5" (fractions or decimals, comma separated) into seconds. */
export function parseExposureTimes(text: string, flag = '--times'): number[] {
  const parts = text.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(?:\/(\d+(?:\.\d*)?|\.\d+))?$/.exec(p);
    const value = m ? Number(m[1]) / (m[2] !== undefined ? Number(m[2]) : 1) : Number.NaN;
    if (!(value > 0) || !Number.isFinite(value)) throw invalidOption(flag, 'positive exposure times in seconds, comma separated (e.g. 1/320,1/80,1/20)', text);
    return value;
  });
}

/** Parses "-2,0,2" into exposure values. */
export function parseExposureValues(text: string, flag = '--ev'): number[] {
  return text.split(',').map((s) => {
    const p = s.trim();
    const v = /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(p) ? Number(p) : Number.NaN;
    if (!Number.isFinite(v) || Math.abs(v) > 30) throw invalidOption(flag, 'exposure values between -30 and 30, comma separated (e.g. -2,0,2)', text);
    return v;
  });
}

/** Relative exposure times of exposure values: t = 2^ev (EV 0 -> 1). */
export function exposureTimesFromEv(ev: readonly number[]): number[] {
  return ev.map((e) => 2 ** e);
}

/**
 * Checks a list of exposure times against the number of frames: one positive finite time each,
 * and not all the same (a bracket must vary the exposure). Returns a copy.
 */
export function checkExposureTimes(times: readonly number[] | undefined, frameCount: number, name = 'times'): number[] {
  if (!Array.isArray(times)) throw invalidOption(name, `an array of ${frameCount} exposure times in seconds`, times);
  if (times.length !== frameCount) {
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `Invalid option "${name}": ${times.length} exposure time(s) given for ${frameCount} image(s); give one per image`,
      { option: name, expected: frameCount, given: times.length },
    );
  }
  times.forEach((t, i) => {
    if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) {
      throw new ClearsightError(
        ERROR_CODES.INVALID_OPTION,
        `Invalid option "${name}": exposure time ${i + 1} must be a positive number of seconds, got ${String(t)}`,
        { option: name, index: i, given: t },
      );
    }
  });
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! / sorted[i - 1]! < 1.01) {
      throw new ClearsightError(
        ERROR_CODES.INVALID_OPTION,
        `Invalid option "${name}": two images have the same exposure time (${formatTime(sorted[i]!)}); a bracket needs different exposures (stale EXIF? give --times or --ev)`,
        { option: name, given: [...times] },
      );
    }
  }
  return [...times];
}

/** 0.003125 -> "1/320", 2 -> "2". */
export function formatTime(t: number): string {
  if (t >= 1) return String(Math.round(t * 1000) / 1000);
  const inv = 1 / t;
  return Math.abs(inv - Math.round(inv)) < 0.01 * inv ? `1/${Math.round(inv)}` : String(Math.round(t * 1e6) / 1e6);
}

import path from 'node:path';

/** Person id from a face-videos/live-real file name (its SOURCE.md: 21 people). */
export function personOf(file: string): string {
  const b = path.basename(file, path.extname(file));
  let m = /^liveportrait_driving_(d\d+)$/.exec(b);
  if (m) return `liveportrait-${m[1]}`;
  m = /^dreamtalk_MEAD_([MW]\d+)_/.exec(b);
  if (m) return `mead-${m[1]}`;
  m = /^sadtalker_ref_WDA_([A-Za-z]+)_/.exec(b);
  if (m) return m[1]!;
  // SOURCE.md: videoretalking face_3 is the SadTalker AOC person (another clip)
  if (b === 'videoretalking_face_3') return 'AlexandriaOcasioCortez';
  m = /^videoretalking_face_(\d+)$/.exec(b);
  if (m) return `videoretalking-${m[1]}`;
  if (b.startsWith('tpsmm')) return 'tpsmm';
  return b;
}

/**
 * The recording source (camera, studio, compression chain) of a live-real clip: LivePortrait's
 * driving clips, MEAD (studio, via DreamTalk), HDTF-like talking heads (SadTalker and
 * video-retalking examples), and the TPSMM VoxCeleb-style clip.
 */
export function sourceOf(file: string): string {
  const b = path.basename(file);
  if (b.startsWith('liveportrait_')) return 'liveportrait';
  if (b.startsWith('dreamtalk_MEAD')) return 'mead';
  if (b.startsWith('sadtalker_') || b.startsWith('videoretalking_')) return 'hdtf';
  if (b.startsWith('tpsmm')) return 'voxceleb';
  return 'other';
}

/**
 * The face videos under ../shared/data/face-videos (see its SOURCE.md and manifest.csv), with a
 * PERSON per clip and the one split that the CNN forensic detector's preparation, training and
 * benchmark all read, so "held-out person" means the same people everywhere.
 *
 * - live-real/: 43 clips of 21 people. People, not clips, are split: MEAD gives 8 clips of each of
 *   its 3 people, and video-retalking's face_3 is the SadTalker reference clip's person (AOC).
 * - generated-or-reenacted/: 12 generated talking heads and lip-syncs (DreamTalk, SadTalker,
 *   VASA-1, EMO, V-Express, Wav2Lip). Validation only: never prepared for training.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface FaceVideo {
  /** Absolute path. */
  file: string;
  /** Path relative to the face-videos folder, as manifest.csv writes it. */
  rel: string;
  person: string;
  label: 'real' | 'fake';
  /** The generator of a fake, the source collection of a real clip. */
  source: string;
  sha256: string;
}

/** The person in a live-real clip (file name rules from SOURCE.md). */
export function personOfRealClip(name: string): string {
  const mead = /^dreamtalk_MEAD_(\w+?)_front/.exec(name);
  if (mead) return `mead:${mead[1]}`;
  if (/AlexandriaOcasioCortez/.test(name) || name === 'videoretalking_face_3.mp4') return 'hdtf:aoc';
  if (/KatieHill/.test(name)) return 'hdtf:katiehill';
  const lp = /^liveportrait_driving_(d\d+)\.mp4$/.exec(name);
  if (lp) return `liveportrait:${lp[1]}`;
  const vr = /^videoretalking_face_(\d+)\.mp4$/.exec(name);
  if (vr) return `videoretalking:${vr[1]}`;
  if (name === 'tpsmm_driving.mp4') return 'tpsmm:driving';
  return `file:${name}`;
}

/**
 * Held-out people: never prepared for training or calibration; their clips are the real side of
 * the real-deepfake test. Chosen to span every real source and resolution (MEAD 256 px, like the
 * DreamTalk fakes; LivePortrait 480-512 px; video-retalking 524-700 px; TPSMM 410 px).
 */
export const TEST_PEOPLE: readonly string[] = [
  'mead:W011',
  'liveportrait:d3',
  'liveportrait:d9',
  'liveportrait:d12',
  'liveportrait:d19',
  'videoretalking:4',
  'videoretalking:5',
  'tpsmm:driving',
];

/** People whose self-blends calibrate the detector and stop its training (with some photo identities). */
export const VALIDATION_PEOPLE: readonly string[] = ['liveportrait:d10', 'videoretalking:2'];

export function splitOfPerson(person: string): 'train' | 'val' | 'test' {
  return TEST_PEOPLE.includes(person) ? 'test' : VALIDATION_PEOPLE.includes(person) ? 'val' : 'train';
}

function sourceOf(name: string): string {
  return name.replace(/\.mp4$/, '').split('_')[0];
}

/** Every clip listed in manifest.csv under live-real/ and generated-or-reenacted/. */
export function listFaceVideos(root: string): FaceVideo[] {
  const manifest = path.join(root, 'manifest.csv');
  if (!existsSync(manifest)) return [];
  const out: FaceVideo[] = [];
  for (const line of readFileSync(manifest, 'utf8').split('\n').slice(1)) {
    const [rel, , sha256] = line.trim().split(',');
    if (!rel) continue;
    const [dir, name] = rel.split('/');
    if (dir !== 'live-real' && dir !== 'generated-or-reenacted') continue;
    const real = dir === 'live-real';
    out.push({
      file: path.join(root, rel),
      rel,
      person: real ? personOfRealClip(name) : `generated:${name}`,
      label: real ? 'real' : 'fake',
      source: sourceOf(name),
      sha256,
    });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

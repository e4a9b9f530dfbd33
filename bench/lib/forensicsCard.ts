/**
 * Puts an ONNX detector's measured figures (bench/forensics.ts for the CNN, bench/forensics-ft.ts for
 * the fine-tuned network) into its model card, cross-source
 * first: video- and frame-level AUC on real generated clips against held-out real people (the linear
 * detector's figure beside it as the reference), then the self-blend validation figure the trainer
 * wrote, then the speed. The card's sha256 covers the ONNX file only, so this does not touch it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getModelCard } from '../../src/core/models/registry.js';
import { CNN_MODEL_NAME } from '../../src/trust/forensics/cnnDetector.js';

interface Eval {
  clips: { fake: number; real: number };
  videoAuc: { value: number; hanleyMcNeil95: [number, number] };
  frameAuc: { value: number; frames: { fake: number; real: number }; clusterBootstrap95: [number, number] };
  truePositiveRate: { count: number; of: number };
  falsePositiveRate: { count: number; of: number };
}

export async function writeCardFigures(
  results: {
    realMedia: Record<string, Eval>;
    speed: { seconds: number; ownCpuSeconds: number; othersMeanCores: number };
  },
  { model = CNN_MODEL_NAME, key = 'cnn', command = 'npm run bench:forensics' }: { model?: string; key?: string; command?: string } = {},
): Promise<void> {
  const card = getModelCard(model).trained!;
  const file = path.join(card.dir, 'card.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as { quality: Array<{ split: string }>; speed?: unknown[] };
  const cnn = results.realMedia[key]!;
  const logistic = results.realMedia.logistic!;
  const dataset = `face-videos: ${cnn.clips.fake} generated clips (generated-or-reenacted) vs ${cnn.clips.real} live-real clips of held-out people`;
  const crossSource = [
    {
      dataset,
      split: 'cross-source',
      metric: 'video-level AUC (clip = mean calibrated probability over 24 sampled frames)',
      value: cnn.videoAuc.value,
      reference: { name: 'forensics/sbi-logistic (the earlier linear detector)', value: logistic.videoAuc.value },
      note: `Hanley-McNeil 95% ${cnn.videoAuc.hanleyMcNeil95.join('–')}; at 0.5: ${cnn.truePositiveRate.count}/${cnn.truePositiveRate.of} generated clips flagged, ${cnn.falsePositiveRate.count}/${cnn.falsePositiveRate.of} real clips flagged`,
      command,
    },
    {
      dataset,
      split: 'cross-source',
      metric: 'frame-level AUC',
      value: cnn.frameAuc.value,
      reference: { name: 'forensics/sbi-logistic', value: logistic.frameAuc.value },
      note: `${cnn.frameAuc.frames.fake} + ${cnn.frameAuc.frames.real} frames; clip-cluster bootstrap 95% ${cnn.frameAuc.clusterBootstrap95.join('–')}`,
      command,
    },
  ];
  json.quality = [...crossSource, ...json.quality.filter((q) => q.split !== 'cross-source')];
  json.speed = [
    {
      what: 'forensics analyze, 10 s 1280x720 H.264 clip, 24 frames (decode all, face detection + mesh + network), wall seconds on the shared 2-core machine',
      value: results.speed.seconds,
      unit: `s (own CPU ${results.speed.ownCpuSeconds} s; other processes kept ${results.speed.othersMeanCores} cores busy)`,
      command,
    },
  ];
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
}

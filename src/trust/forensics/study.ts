/**
 * Reliability study: how well does the detector do on a labelled collection like the
 * investigator's? A stratified random sample with a recorded seed is scored, and every metric is
 * stated with an exact (Clopper-Pearson) and a bootstrap 95% interval, plus how stable the
 * metrics are across repeated samples and how many items a requested interval width needs.
 *
 * Collections are a folder with `authentic/` (or `real/`) and `manipulated/` (or `fake/`)
 * subfolders, or a CSV manifest with a header `path,label[,stratum]` (label: 0|1 or
 * authentic|manipulated|real|fake; paths relative to the CSV).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { mulberry32 } from '../../core/random.js';
import { aucHanleyMcNeil, bootstrapInterval, clopperPearson, confusionAt, meanSd, rocAuc, sampleSizeForWidth, STATISTICS, type Interval } from './stats.js';

export type Label = 0 | 1;

export interface ManifestItem {
  /** Absolute path of the media file. */
  path: string;
  /** 1 = manipulated, 0 = authentic. */
  label: Label;
  /** Sampling stratum (default: the label's name); e.g. a source or codec column. */
  stratum: string;
}

const MEDIA = /\.(png|jpe?g|webp|tiff?|bmp|mp4|mov|mkv|webm|avi)$/i;
const FOLDER_LABELS: Record<string, Label> = { authentic: 0, real: 0, manipulated: 1, fake: 1 };
const LABEL_WORDS: Record<string, Label> = { '0': 0, '1': 1, authentic: 0, real: 0, manipulated: 1, fake: 1 };
export const labelName = (l: Label): string => (l === 1 ? 'manipulated' : 'authentic');

/** Reads a collection (folder layout or CSV manifest) into items, in a stable order. */
export async function readManifest(source: string): Promise<ManifestItem[]> {
  const info = await stat(source).catch(() => {
    throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Manifest "${source}" does not exist`, { path: source });
  });
  const items = info.isDirectory() ? await readFolders(source) : await readCsv(source);
  if (items.length === 0) throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `Manifest "${source}" lists no media files`, { path: source });
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function readFolders(dir: string): Promise<ManifestItem[]> {
  const items: ManifestItem[] = [];
  let found = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const label = FOLDER_LABELS[entry.name.toLowerCase()];
    if (!entry.isDirectory() || label === undefined) continue;
    found++;
    for (const f of await readdir(path.join(dir, entry.name))) {
      if (MEDIA.test(f)) items.push({ path: path.resolve(dir, entry.name, f), label, stratum: labelName(label) });
    }
  }
  if (found === 0) {
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `Folder "${dir}" has no authentic/ (or real/) and manipulated/ (or fake/) subfolders`, {
      path: dir,
    });
  }
  return items;
}

async function readCsv(file: string): Promise<ManifestItem[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string): number => header.indexOf(name);
  if (col('path') < 0 || col('label') < 0) {
    throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `Manifest "${file}" needs a header with "path" and "label" columns, got "${header.join(',')}"`, {
      path: file,
    });
  }
  const base = path.dirname(path.resolve(file));
  return lines.map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    const label = LABEL_WORDS[(cells[col('label')] ?? '').toLowerCase()];
    if (label === undefined) {
      throw new ClearsightError(
        ERROR_CODES.INPUT_CORRUPT,
        `Manifest "${file}" line ${i + 2}: label "${cells[col('label')]}" is not 0/1/authentic/manipulated/real/fake`,
        { path: file, line: i + 2 },
      );
    }
    const stratum = col('stratum') >= 0 && cells[col('stratum')] ? cells[col('stratum')] : labelName(label);
    return { path: path.resolve(base, cells[col('path')]), label, stratum };
  });
}

export interface SampleRecord {
  seed: number;
  /** Per stratum: population size and how many were drawn. */
  strata: Record<string, { population: number; sampled: number }>;
}

/**
 * Stratified simple random sample without replacement: `fraction` of every stratum (rounded,
 * at least one item), drawn by a seeded Fisher-Yates shuffle so the same seed reproduces the
 * same sample on any machine.
 */
export function stratifiedSample(items: readonly ManifestItem[], fraction: number, seed: number): { items: ManifestItem[]; record: SampleRecord } {
  if (!(fraction > 0 && fraction <= 1)) throw invalidOption('fraction', 'a sampling fraction in (0, 1]', fraction);
  if (!Number.isInteger(seed)) throw invalidOption('seed', 'an integer', seed);
  const byStratum = new Map<string, ManifestItem[]>();
  for (const it of items) byStratum.set(it.stratum, [...(byStratum.get(it.stratum) ?? []), it]);
  const rand = mulberry32(seed);
  const out: ManifestItem[] = [];
  const strata: SampleRecord['strata'] = {};
  for (const name of [...byStratum.keys()].sort()) {
    const pool = [...byStratum.get(name)!];
    const take = Math.max(1, Math.round(pool.length * fraction));
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(rand() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    out.push(...pool.slice(0, take));
    strata[name] = { population: pool.length, sampled: take };
  }
  return { items: out, record: { seed, strata } };
}

export interface MetricWithIntervals {
  value: number;
  /** Exact binomial interval (proportions only). */
  exact?: Interval & { k: number; n: number };
  /** Stratified percentile bootstrap. */
  bootstrap: Interval;
  /** Hanley-McNeil normal approximation (AUC only). */
  normal?: Interval;
}

export interface StudyOptions extends TaskControl {
  /** Fraction of every stratum to sample (default 1: everything). */
  fraction?: number;
  /** Seed of the sample and of the bootstrap (default 1). Record it with the results. */
  seed?: number;
  /** Score at or above which an item is called manipulated (default 0.5 on calibrated probabilities). */
  threshold?: number;
  confidence?: number;
  bootstrapResamples?: number;
  /** Repeated samples (fresh seeds derived from `seed`) for the stability table; 0 to skip. Default 10. */
  repeats?: number;
  /** Fraction per repeated sample (default 0.5, so repeats differ). */
  repeatFraction?: number;
  /** Interval width the sample-size planner aims at (default 0.05). */
  targetWidth?: number;
}

export interface ScoredItem extends ManifestItem {
  score: number;
}

export interface StudyReport {
  design: SampleRecord & { fraction: number; threshold: number; confidence: number; bootstrapResamples: number; manifestSha256: string };
  counts: { positives: number; negatives: number; unscorable: Array<{ path: string; reason: string }> };
  metrics: { accuracy: MetricWithIntervals; tpr: MetricWithIntervals; fpr: MetricWithIntervals; auc: MetricWithIntervals | null };
  confusion: { tp: number; fp: number; tn: number; fn: number };
  stability: null | {
    repeats: number;
    fraction: number;
    seeds: number[];
    accuracy: ReturnType<typeof meanSd>;
    tpr: ReturnType<typeof meanSd>;
    fpr: ReturnType<typeof meanSd>;
    auc: ReturnType<typeof meanSd> | null;
  };
  sampleSize: { targetWidth: number; accuracy: number; tpr: number; fpr: number };
  items: ScoredItem[];
}

/**
 * Runs a study: sample, score (each file once, cached for the repeats), compute metrics with
 * intervals. `score` returns the calibrated probability of manipulation, or throws a
 * ClearsightError for an item it cannot analyse (no face, unreadable): such items are listed as
 * unscorable, not silently dropped.
 */
/** Scores every item once; items whose scorer throws a ClearsightError (but an abort) are listed, never dropped silently. */
async function scoreItems(
  items: readonly ManifestItem[],
  score: (item: ManifestItem) => Promise<number>,
  opts: StudyOptions,
): Promise<{ scores: Map<string, number>; unscorable: StudyReport['counts']['unscorable'] }> {
  const scores = new Map<string, number>();
  const unscorable: StudyReport['counts']['unscorable'] = [];
  for (const [done, it] of items.entries()) {
    throwIfAborted(opts.signal);
    report(opts, 'study: scoring', done, items.length);
    try {
      scores.set(it.path, await score(it));
    } catch (err) {
      if (!(err instanceof ClearsightError) || err.code === ERROR_CODES.ABORTED) throw err;
      unscorable.push({ path: it.path, reason: err.message });
    }
  }
  report(opts, 'study: scoring', items.length, items.length);
  return { scores, unscorable };
}

/** Mean and spread of the metrics over repeated smaller samples: how much the sampling alone moves them. */
function stabilityOver(
  repeatSamples: ReadonlyArray<{ seed: number; items: readonly ScoredItem[] }>,
  threshold: number,
  fraction: number,
): NonNullable<StudyReport['stability']> {
  const acc: number[] = [];
  const tpr: number[] = [];
  const fpr: number[] = [];
  const aucs: number[] = [];
  for (const { items: list } of repeatSamples) {
    const d = { scores: list.map((i) => i.score), labels: list.map((i) => i.label) };
    const c = confusionAt(d, threshold);
    acc.push((c.tp + c.tn) / list.length);
    if (c.tp + c.fn > 0) tpr.push(c.tp / (c.tp + c.fn));
    if (c.fp + c.tn > 0) fpr.push(c.fp / (c.fp + c.tn));
    if (c.tp + c.fn > 0 && c.fp + c.tn > 0) aucs.push(rocAuc(d));
  }
  return {
    repeats: repeatSamples.length,
    fraction,
    seeds: repeatSamples.map((s) => s.seed),
    accuracy: meanSd(acc),
    tpr: meanSd(tpr),
    fpr: meanSd(fpr),
    auc: aucs.length ? meanSd(aucs) : null,
  };
}

export async function runStudy(items: readonly ManifestItem[], score: (item: ManifestItem) => Promise<number>, opts: StudyOptions = {}): Promise<StudyReport> {
  const seed = opts.seed ?? 1;
  const fraction = opts.fraction ?? 1;
  const threshold = opts.threshold ?? 0.5;
  const confidence = opts.confidence ?? 0.95;
  const resamples = opts.bootstrapResamples ?? 2000;
  const repeats = opts.repeats ?? 10;
  const repeatFraction = opts.repeatFraction ?? 0.5;
  const targetWidth = opts.targetWidth ?? 0.05;
  if (!(repeats >= 0 && Number.isInteger(repeats))) throw invalidOption('repeats', 'an integer >= 0', repeats);

  const sample = stratifiedSample(items, fraction, seed);
  const repeatSamples = Array.from({ length: repeats }, (_, r) => stratifiedSample(items, repeatFraction, seed * 1000 + r + 1));
  const toScore = new Map<string, ManifestItem>();
  for (const it of [...sample.items, ...repeatSamples.flatMap((s) => s.items)]) toScore.set(it.path, it);

  const { scores, unscorable } = await scoreItems([...toScore.values()], score, opts);

  const scored = (list: readonly ManifestItem[]): ScoredItem[] =>
    list.filter((it) => scores.has(it.path)).map((it) => ({ ...it, score: scores.get(it.path)! }));
  const main = scored(sample.items);
  const data = { scores: main.map((i) => i.score), labels: main.map((i) => i.label) };
  const confusion = confusionAt(data, threshold);
  const pos = confusion.tp + confusion.fn;
  const neg = confusion.tn + confusion.fp;
  if (pos + neg === 0) throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, 'No item of the sample could be analysed', { unscorable: unscorable.length });

  const boot = (stat: (p: readonly number[], n: readonly number[]) => number): Interval | null =>
    pos > 0 && neg > 0 ? bootstrapInterval(data, stat, { resamples, confidence, seed }) : null;
  const proportion = (k: number, n: number, stat: (p: readonly number[], q: readonly number[]) => number): MetricWithIntervals => ({
    value: n > 0 ? k / n : Number.NaN,
    exact: n > 0 ? { ...clopperPearson(k, n, confidence), k, n } : undefined,
    bootstrap: boot(stat) ?? { lo: Number.NaN, hi: Number.NaN },
  });
  const auc = pos > 0 && neg > 0 ? rocAuc(data) : null;

  return {
    design: {
      ...sample.record,
      fraction,
      threshold,
      confidence,
      bootstrapResamples: resamples,
      manifestSha256: createHash('sha256')
        .update(items.map((i) => `${i.path},${i.label},${i.stratum}`).join('\n'))
        .digest('hex'),
    },
    counts: { positives: pos, negatives: neg, unscorable },
    metrics: {
      accuracy: proportion(confusion.tp + confusion.tn, pos + neg, STATISTICS.accuracyAt(threshold)),
      tpr: proportion(confusion.tp, pos, STATISTICS.tprAt(threshold)),
      fpr: proportion(confusion.fp, neg, STATISTICS.fprAt(threshold)),
      auc: auc === null ? null : { value: auc, bootstrap: boot(STATISTICS.auc)!, normal: aucHanleyMcNeil(auc, pos, neg, confidence) },
    },
    confusion,
    stability:
      repeats === 0
        ? null
        : stabilityOver(
            repeatSamples.map((r) => ({ seed: r.record.seed, items: scored(r.items) })),
            threshold,
            repeatFraction,
          ),
    sampleSize: {
      targetWidth,
      accuracy: sampleSizeForWidth((confusion.tp + confusion.tn) / (pos + neg), targetWidth, confidence),
      tpr: pos > 0 ? sampleSizeForWidth(confusion.tp / pos, targetWidth, confidence) : Number.NaN,
      fpr: neg > 0 ? sampleSizeForWidth(confusion.fp / neg, targetWidth, confidence) : Number.NaN,
    },
    items: main,
  };
}

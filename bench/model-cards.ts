/**
 * Writes docs/models.md: one card per model, from the registry (static facts), the installed
 * packages (version, licence) and the published benchmark JSON in docs/benchmarks/ (parity,
 * derain quality, expert speed). No figure is typed in by hand; a missing benchmark says so.
 *
 *   node --import tsx bench/model-cards.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listModels, packageFacts, type ModelCard } from '../src/core/models/registry.js';
import { CONVERTER_VERSION } from '../src/core/models/convert/index.js';
import { writeFileAtomic } from '../src/core/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = path.join(REPO, 'docs/benchmarks');

/* Benchmark JSON is read loosely: each bench script documents its own schema. */
// biome-ignore lint/suspicious/noExplicitAny: parsed benchmark JSON of many shapes, read field by field
type J = any;
const load = (name: string): J | undefined => {
  const file = path.join(BENCH, `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
};

const parity = load('parity');
const faceParity = load('parity-face');
const derain = load('derain');
const experts = load('experts');
const derainSpeed = load('derain-speed');
const fmt = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

function parityLine(card: ModelCard): string {
  if (card.network) {
    const f = faceParity?.results?.find((p: J) => p.model === card.id);
    if (!f) return '- Parity with tfjs-wasm: not measured yet (`npm run bench:parity -- --task face`).';
    return `- Parity with tfjs-wasm (same weights, ${card.network.inputSize}x${card.network.inputSize} input, every output): max |diff| ${f.maxAbsDiff.toExponential(1)} in the network's own units (target <= 1e-3). \`npm run bench:parity -- --task face\`, ${faceParity.date.slice(0, 10)}.`;
  }
  const r = parity?.results?.find((p: J) => p.model === card.id);
  if (!r) return '- Parity with tfjs-wasm: not measured yet (`npm run bench:parity`).';
  return `- Parity with tfjs-wasm (same weights, input ${r.shape.slice(1, 3).join('x')}): max |diff| ${r.maxAbsDiff.toExponential(1)}, mean ${r.meanAbsDiff.toExponential(1)} on [0,1] output (target <= 1e-3). \`npm run bench:parity\`, ${parity.date.slice(0, 10)}.`;
}

function qualityLines(card: ModelCard): string[] {
  const lines = card.paperFigures.map((f) => `- Paper: ${f.dataset} ${f.metric} ${f.value} dB (full test set).`);
  if (card.name === 'maxim-deraining' && derain?.summary) {
    const s = derain.summary;
    lines.push(
      `- Ours: Rain100H dev (${s.pairs ?? derain.rows?.length ?? '?'} pairs of the 100-pair test set) PSNR-Y ${fmt(s.ours.psnrY)} dB, SSIM-Y ${fmt(s.ours.ssimY, 4)} (input ${fmt(s.input.psnrY)} dB); MATLAB YCbCr Y, 8-bit, no crop. \`${derain.command}\`, ${derain.date.slice(0, 10)}.`,
    );
    if (s.reference)
      lines.push(
        `- tfjs-wasm on the same first ${s.reference.pairs} pairs: PSNR-Y ${fmt(s.reference.tfjs.psnrY)} dB (ours on those: ${fmt(s.reference.oursSamePairs?.psnrY)} dB; max pixel difference ${s.reference.maxAbsPixelDiff.toExponential(1)}); speed ratio tfjs/ours ${fmt(s.reference.speedRatioOverall, 1)}x wall, ${fmt(s.reference.speedRatioCpuOverall, 1)}x CPU time.`,
      );
    const q = derainSpeed?.summary?.reference;
    if (q)
      lines.push(
        `- Speed on an idle machine, 480x320 (first ${q.pairs} pairs): ours ${fmt(q.oursSecondsPerImageSamePairs, 1)} s, tfjs-wasm ${fmt(q.tfjsSecondsPerImageMean, 1)} s per image: ${fmt(q.speedRatioOverall, 1)}x wall, ${fmt(q.speedRatioCpuOverall, 1)}x CPU time. \`${derainSpeed.command}\`.`,
      );
    if (s.tta) lines.push(`- x8 TTA on the first ${s.tta.pairs} pairs: ${s.tta.meanGainPsnrY >= 0 ? '+' : ''}${fmt(s.tta.meanGainPsnrY, 3)} dB PSNR-Y.`);
  } else if (card.paperFigures.length > 0) {
    lines.push('- Ours: not yet benchmarked on a paired set here.');
  } else {
    lines.push('- No paper figure for these packaged weights; not benchmarked on a paired set here.');
  }
  return lines;
}

function speedLine(card: ModelCard): string {
  const r = experts?.experts?.find((e: J) => e.model === card.id || e.model === card.name);
  if (!r) return '- Speed: not in the last `npm run bench:experts` run.';
  return `- Speed (onnxruntime-node CPU, ${experts.machine.cpuCount} x ${experts.machine.cpuModel}): ${fmt(r.secondsPerInputMP)} s per input megapixel on a ${r.input} crop (${fmt(r.cpuSecondsPerInputMP)} CPU-s/MP; load avg ${r.loadavg1}). \`npm run bench:experts\`, ${experts.date.slice(0, 10)}.`;
}

/** A model trained in this repository: everything comes from its card (models/<name>/card.json). */
function trainedSection(card: ModelCard): string {
  const t = card.trained!;
  const io = t.io;
  const fig = (f: (typeof t.quality)[number]): string =>
    `- ${f.split}: ${f.dataset}, ${f.metric} **${f.value}**${f.reference ? ` (${f.reference.name}: ${f.reference.value}, ${f.reference.run ?? 'same run'})` : ''}${f.note ? `; ${f.note}` : ''}. \`${f.command}\``;
  const speed = (s: (typeof t.speed)[number]): string =>
    `- ${s.what}: **${s.value} ${s.unit}**${s.reference ? ` (${s.reference.name}: ${s.reference.value})` : ''}. \`${s.command}\``;
  return [
    `## ${card.id}`,
    '',
    `- Task: \`${t.task}\`; trained in this repository (\`models/${t.name}/\`, ONNX sha256 ${t.sha256.slice(0, 12)}…), licence ${t.licence}.${t.training.teacher ? ` Teacher: \`${t.training.teacher}\`.` : ''}`,
    `- Architecture: ${t.architecture}. ${t.params.toLocaleString('en')} parameters, ${(t.flopsPerMegapixel / 1e9).toFixed(1)} GFLOP per megapixel.`,
    t.kind === 'image'
      ? `- I/O: NHWC float32 in [0, 1], dynamic H and W (multiples of ${io.divisibility}), scale x${io.scale}; tiles up to ${io.maxTile} px with ${io.overlap} px overlap, feathered.`
      : `- I/O: inputs ${io.inputs.map((x) => `${x.name} [${x.shape.join(', ')}]`).join(', ')}; outputs ${io.outputs.map((x) => `${x.name} [${x.shape.join(', ')}]${x.meaning ? ` (${x.meaning})` : ''}`).join(', ')}.`,
    `- Data: ${t.training.data.map((d) => `${d.source}: ${d.count}${d.role ? ` (${d.role})` : ''}`).join('; ')}.`,
    `- Split: ${t.training.split}`,
    `- Training: \`${t.training.command}\`, seed ${t.training.seed}, ${t.training.steps} steps, ${(t.training.wallTimeSeconds / 60).toFixed(1)} min wall on ${t.training.machine}.${t.training.lossCurve ? ` Loss curve: \`models/${t.name}/${t.training.lossCurve}\`.` : ''}`,
    ...(t.paper ? [`- Paper: ${t.paper}.`] : []),
    '- Quality (cross-source first):',
    ...[...t.quality]
      .sort((a, b) => ['cross-source', 'held-out', 'training'].indexOf(a.split) - ['cross-source', 'held-out', 'training'].indexOf(b.split))
      .map((f) => `  ${fig(f)}`),
    ...(t.speed.length ? ['- Speed:', ...t.speed.map((s) => `  ${speed(s)}`)] : []),
    ...t.notes.map((n) => `- Note: ${n}`),
    '',
  ].join('\n');
}

/** Where a card's weights come from: an npm package (name, installed version, licence) or this repository (a path relative to it, never this checkout's absolute path). */
function sourceOf(card: ModelCard): string {
  if (card.packageName === 'clearsight') return `this repository (\`${path.relative(REPO, card.modelPath)}\`, ${card.format} model), licence ${card.licence}`;
  let facts = { version: 'not installed', license: 'unknown' };
  try {
    facts = packageFacts(card.packageName);
  } catch {
    /* listed anyway */
  }
  return `npm \`${card.packageName}@${facts.version}\` (\`${card.modelPath}\`, tfjs ${card.format} model), licence ${facts.license}`;
}

const sections = listModels().map((card) => {
  if (card.trained) return trainedSection(card);
  const io = card.io;
  return [
    `## ${card.id}`,
    '',
    `- Task: \`${card.task}\`; source: ${sourceOf(card)}.`,
    `- Paper: ${card.paper}. Trained on ${card.trainedOn}.`,
    card.network
      ? `- I/O: one ${card.network.inputSize}x${card.network.inputSize} ${io.layout} RGB input in [${io.range.join(', ')}]; outputs: ${card.network.outputs.map((o) => `[${o.shape.join(', ')}] ${o.meaning}`).join('; ')}.`
      : `- I/O: ${io.layout} float32, network range [${io.range.join(', ')}] (the library scales from/to [0,1]), H and W multiples of ${io.divisibility}, scale x${io.scale}; tiles up to ${io.maxTile} px (never below ${io.minTile} px: smaller tiles change the output) with ${io.overlap} px overlap, feathered.`,
    `- Conversion: our TypeScript tfjs -> ONNX converter v${CONVERTER_VERSION}, static shape per tile, cached by sha256 of the source weights.`,
    parityLine(card),
    ...qualityLines(card),
    speedLine(card),
    '',
  ].join('\n');
});

const doc = [
  '# Model cards',
  '',
  'Generated by `node --import tsx bench/model-cards.ts` from `src/core/models/registry.ts`, the installed packages and the benchmark results in `docs/benchmarks/`. Every figure names the command that measured it. Benchmarks ran on a 2-core machine shared with other work; speed figures carry the load average.',
  '',
  ...sections,
].join('\n');
await writeFileAtomic(path.join(REPO, 'docs/models.md'), doc, { force: true });
console.log(`wrote docs/models.md (${listModels().length} cards)`);

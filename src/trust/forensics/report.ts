/**
 * The case report of a forensic analysis: the same facts as the JSON result, laid out for a
 * reader who was not there — what file (its sha256), which tool and models (versions and
 * hashes), how frames were sampled, what was found per frame (plot), the decisive frames with
 * the face region the detector judged, the aggregated probability with its intervals, the
 * watermark verdict when the file carries our watermark, and a plain-language conclusion with
 * its limits. PDF by pdfkit; written atomically.
 */
import PDFDocument from 'pdfkit';
import { encodeImage, type RawImage } from '../../core/image/index.js';
import { writeFileAtomic } from '../../core/fs.js';
import type { FaceCrop } from './detector.js';
import type { ForensicsEvidence, ForensicsResult } from './analyze.js';
export type { WatermarkFinding } from './analyze.js';

export interface ProvenanceRecord {
  tool: { name: string; version: string };
  detector: { id: string; version: number | string; sha256: string; trainingDataSha256?: string; heldOut?: Record<string, unknown> };
  /** Face models used (file name -> sha256). */
  faceModels: Record<string, string>;
  analysedAt: string;
}

export interface CaseReport extends ForensicsResult {
  provenance: ProvenanceRecord;
}

/** Crop with the face-hull boundary drawn in red: the region whose blending the detector judged. */
export function overlayMask(fc: FaceCrop): RawImage {
  const { width: w, height: h } = fc.crop;
  const data = Float32Array.from(fc.crop.data);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const m = fc.mask[i] >= 0.5;
      const edge =
        (x > 0 && fc.mask[i - 1] >= 0.5 !== m) ||
        (y > 0 && fc.mask[i - w] >= 0.5 !== m) ||
        (x < w - 1 && fc.mask[i + 1] >= 0.5 !== m) ||
        (y < h - 1 && fc.mask[i + w] >= 0.5 !== m);
      if (edge) data.set([1, 0.1, 0.1], i * 3);
    }
  }
  return { width: w, height: h, channels: 3, data };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export async function renderCaseReportPdf(report: CaseReport, evidence: ForensicsEvidence): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: {
      Title: `clearsight forensic report: ${report.input.path}`,
      Author: `${report.provenance.tool.name} ${report.provenance.tool.version}`,
      CreationDate: new Date(report.provenance.analysedAt),
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', () => resolve());
    doc.on('error', reject);
  });
  const w: Writer = {
    doc,
    heading: (t: string) => doc.moveDown(0.6).font('Helvetica-Bold').fontSize(12).text(t).font('Helvetica').fontSize(9.5).moveDown(0.2),
    field: (k: string, v: string) => doc.font('Helvetica-Bold').text(`${k}: `, { continued: true }).font('Helvetica').text(v),
  };

  doc.font('Helvetica-Bold').fontSize(16).text('Forensic analysis of a suspect file');
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor('#555')
    .text(`clearsight ${report.provenance.tool.version} · analysed ${report.provenance.analysedAt}`)
    .fillColor('black');
  writeConclusion(w, report);
  writeTrust(w, report);
  writeInputAndProvenance(w, report);
  writeWatermark(w, report);
  if (report.frames.length > 1) {
    w.heading('6. Probability per analysed frame');
    drawFramePlot(doc, report);
  }
  await writeDecisiveFaces(w, report, evidence);
  writeLimits(w);
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

/** The PDF being written and its two text styles. */
interface Writer {
  doc: PDFKit.PDFDocument;
  heading: (title: string) => unknown;
  field: (key: string, value: string) => unknown;
}

function writeConclusion({ doc, heading, field }: Writer, report: CaseReport): void {
  heading('1. Conclusion');
  doc.fontSize(10.5).text(report.summary).fontSize(9.5);
  if (report.probability !== null) {
    const what =
      report.input.kind === 'image'
        ? 'Probability of manipulation (largest over the faces in the image)'
        : 'Probability of manipulation (mean over frames with a face)';
    field(what, report.interval ? `${pct(report.probability)}  [${pct(report.interval[0])}, ${pct(report.interval[1])}]` : pct(report.probability));
    // Says what the interval is, or why a single image has none (never a one-point interval).
    if (report.intervalNote) doc.fillColor('#555').text(report.intervalNote).fillColor('black');
  }
  if (report.reliability) {
    const r = report.reliability;
    field(
      'Reliability on held-out material',
      `of the ${r.neighbours} held-out items scored nearest (${pct(r.scoreRange[0])}–${pct(r.scoreRange[1])}), ${r.manipulated} were manipulated: ${pct(r.rate)}, exact 95% interval [${pct(r.interval[0])}, ${pct(r.interval[1])}].`,
    );
    doc.fillColor('#7a4a00').text(r.caveat).fillColor('black');
  }
}

function writeTrust({ doc, heading }: Writer, report: CaseReport): void {
  heading('2. How far this detector can be trusted');
  if (report.validation) {
    doc.text(report.validation.statement);
    const rm = report.validation.realMedia;
    if (rm) {
      const gens = Object.entries(rm.perGenerator)
        .map(([g, v]) => `${g} ${v.detected}/${v.clips}`)
        .join(', ');
      doc
        .fillColor('#555')
        .text(`Flagged per generator (manipulated clips at >= ${rm.threshold}): ${gens}. Measured ${rm.measuredAt.slice(0, 10)} by: ${rm.command}`)
        .fillColor('black');
    }
  } else {
    doc.text('No validation record was attached to this detector.');
  }
}

function writeInputAndProvenance({ heading, field }: Writer, report: CaseReport): void {
  heading('3. The file analysed');
  const inp = report.input;
  field('Path', inp.path);
  field('SHA-256', inp.sha256);
  field(
    'Size',
    `${inp.bytes} bytes; ${inp.kind}, ${inp.width}x${inp.height}${inp.kind === 'video' ? `, ${inp.frameCount} frames at ${inp.fps?.toFixed(3)} fps, ${inp.durationSeconds?.toFixed(2)} s` : ''}`,
  );

  heading('4. Tool, models and sampling');
  field('Tool', `${report.provenance.tool.name} ${report.provenance.tool.version}`);
  field('Detector', `${report.provenance.detector.id} v${report.provenance.detector.version}, model SHA-256 ${report.provenance.detector.sha256}`);
  if (report.provenance.detector.trainingDataSha256) field('Training data SHA-256', report.provenance.detector.trainingDataSha256);
  for (const [name, hash] of Object.entries(report.provenance.faceModels)) field(`Face model ${name}`, hash);
  const s = report.sampling;
  field(
    'Sampling',
    `up to ${s.maxFrames} frames evenly spaced; ${s.framesAnalysed} analysed, ${s.framesWithFaces} with a face >= ${s.minFaceSize} px of quality >= ${s.minQuality}; bootstrap ${s.bootstrapResamples} resamples, seed ${s.seed}; confidence ${s.confidence}`,
  );
  const held = report.provenance.detector.heldOut as { auc?: number; aucBootstrap95?: { lo: number; hi: number }; examples?: number } | undefined;
  if (held?.auc !== undefined) {
    field(
      'Detector on held-out self-blended faces',
      `AUC ${held.auc.toFixed(3)} [${held.aucBootstrap95?.lo.toFixed(3)}, ${held.aucBootstrap95?.hi.toFixed(3)}] over ${held.examples} items of unseen people`,
    );
  }
}

function writeWatermark({ doc, heading, field }: Writer, report: CaseReport): void {
  heading('5. Watermark');
  const wm = report.watermark;
  field(
    'Verdict',
    wm.verdict + (wm.source ? `, source "${wm.source}"` : '') + (wm.bitErrorRate !== undefined ? `, bit error rate ${wm.bitErrorRate.toFixed(3)}` : ''),
  );
  if (wm.detail) doc.text(wm.detail);
}

/** The most suspicious faces of the decisive frames, one row of up to four. */
async function writeDecisiveFaces({ doc, heading }: Writer, report: CaseReport, evidence: ForensicsEvidence): Promise<void> {
  const tiles = report.decisiveFrames
    .flatMap((i) => {
      const frame = report.frames.find((f) => f.index === i)!;
      return (evidence.crops.get(i) ?? []).map((c, k) => ({ frame, crop: c, face: frame.faces[k], k }));
    })
    .sort((a, b) => b.crop.probability - a.crop.probability)
    .slice(0, 4);
  if (tiles.length === 0) return;
  heading(`${report.frames.length > 1 ? 7 : 6}. Decisive face(s): the region judged (red outline)`);
  const side = 110;
  const step = 125;
  if (doc.y + side + 90 > doc.page.height - doc.page.margins.bottom) doc.addPage();
  const top = doc.y;
  for (const [n, t] of tiles.entries()) {
    const x = doc.page.margins.left + n * step;
    doc.image(await encodeImage(overlayMask(t.crop), 'png'), x, top, { width: side, height: side });
    const where = report.frames.length > 1 ? `frame ${t.frame.index} (${t.frame.time.toFixed(2)} s), ` : '';
    const cues = (t.face?.topCues ?? []).map((q) => `${q.feature} ${q.value >= 0 ? '+' : ''}${q.value.toFixed(2)}`).join('; ');
    doc.fontSize(7).text(`${where}face ${t.k + 1}: ${pct(t.crop.probability)}\n${cues}`, x, top + side + 4, { width: side + 8, height: 70, ellipsis: true });
  }
  doc.x = doc.page.margins.left;
  doc.y = top + side + 80;
  doc.fontSize(9.5);
}

function writeLimits({ doc, heading }: Writer): void {
  heading('Limits');
  doc.text(
    "The detector was trained on self-blended pseudo-fakes (real faces blended with an altered copy of themselves), not on any generator's output; " +
      'it looks for blending boundaries and statistical inconsistencies between the face and its surroundings. Its measured error rates on real manipulated media are in section 2, ' +
      'with the kinds of material it has not been tested on. Strong recompression weakens its cues. A high probability is a reason to examine the file, ' +
      'not proof; a low probability is not proof of authenticity.',
  );
}

function drawFramePlot(doc: PDFKit.PDFDocument, report: ForensicsResult): void {
  const left = doc.page.margins.left + 30;
  const top = doc.y + 5;
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right - 40;
  const height = 110;
  const frames = report.frames;
  const maxT = Math.max(...frames.map((f) => f.time), 1e-6);
  const X = (t: number) => left + (t / maxT) * width;
  const Y = (p: number) => top + height - p * height;
  doc.save().lineWidth(0.5).strokeColor('#999');
  doc.rect(left, top, width, height).stroke();
  doc
    .dash(3, { space: 3 })
    .moveTo(left, Y(0.5))
    .lineTo(left + width, Y(0.5))
    .stroke()
    .undash();
  doc.fontSize(7).fillColor('#555');
  for (const p of [0, 0.5, 1]) doc.text(p.toFixed(1), left - 22, Y(p) - 3, { width: 18, align: 'right' });
  doc.text('0 s', left - 5, top + height + 3).text(`${maxT.toFixed(1)} s`, left + width - 20, top + height + 3);
  const pts = frames.filter((f) => f.probability !== null);
  doc.strokeColor('#c0392b').lineWidth(1.2);
  pts.forEach((f, i) => {
    if (i === 0) doc.moveTo(X(f.time), Y(f.probability!));
    else doc.lineTo(X(f.time), Y(f.probability!));
  });
  if (pts.length > 1) doc.stroke();
  for (const f of pts) doc.circle(X(f.time), Y(f.probability!), 1.8).fill('#c0392b');
  for (const f of frames.filter((q) => q.probability === null)) doc.circle(X(f.time), Y(0), 1.5).fill('#999');
  doc.restore().fillColor('black');
  doc.x = doc.page.margins.left;
  doc.y = top + height + 16;
  doc.fontSize(8).text('Red: highest face probability per analysed frame; grey: frame without a face; dashed: 0.5.').fontSize(9.5);
}

/** Writes the PDF atomically (no partial file on failure; no overwrite unless `force`). */
export async function writeCaseReportPdf(file: string, report: CaseReport, evidence: ForensicsEvidence, force = false): Promise<void> {
  await writeFileAtomic(file, await renderCaseReportPdf(report, evidence), { force });
}

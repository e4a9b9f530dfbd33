import type { Command } from 'commander';
import { relative } from 'node:path';
import { listModels, packageFacts, TRAINED_MODELS_DIR, type ModelCard } from '../lib.js';

/** One model card as `clearsight models --json` prints it. */
export interface ModelListing {
  id: string;
  task: string;
  name: string;
  package: string;
  /** For models shipped in this package (trained here): the file under the package root. */
  file?: string;
  /** Installed version, or null if the package is missing. */
  version: string | null;
  /** From the package's package.json, or null if the package is missing. */
  licence: string | null;
  trainedOn: string;
  paper: string;
  io: {
    layout: string;
    range: readonly [number, number];
    divisibility: number;
    scale: number;
    maxTile: number;
    minTile: number;
    overlap: number;
  };
  /** Fixed-size networks (the face networks): input side and the outputs in the model's order. */
  network?: { inputSize: number; outputs: ReadonlyArray<{ shape: readonly number[]; meaning: string }> };
}

export function addModelsCommand(program: Command): Command {
  return program
    .command('models')
    .summary('list the models (pretrained packages and models trained here)')
    .description('List the model cards: id, task, source package and its licence, input/output conventions and tiling.')
    .option('--json', 'print a JSON array of cards on stdout')
    .action((opts: { json?: boolean }) => {
      const listings = listModels().map(toListing);
      process.stdout.write(opts.json ? `${JSON.stringify(listings, null, 2)}\n` : table(listings));
    });
}

function toListing(card: ModelCard): ModelListing {
  let facts: { version: string; license: string } | undefined;
  if (card.trained) {
    facts = { version: card.trained.version, license: card.trained.licence };
  } else if (card.version && card.licence) {
    facts = { version: card.version, license: card.licence };
  } else {
    try {
      facts = packageFacts(card.packageName);
    } catch {
      facts = undefined; // not installed: listed anyway, loading it reports E_MODEL_NOT_FOUND
    }
  }
  const { layout, range, divisibility, scale, maxTile, minTile, overlap } = card.io;
  return {
    id: card.id,
    task: card.task,
    name: card.name,
    package: card.packageName,
    ...(card.packageName === 'clearsight' ? { file: `models/${relative(TRAINED_MODELS_DIR, card.modelPath)}` } : {}),
    version: facts?.version ?? null,
    licence: facts?.license ?? null,
    trainedOn: card.trainedOn,
    paper: card.paper,
    io: { layout, range, divisibility, scale, maxTile, minTile, overlap },
    ...(card.network ? { network: card.network } : {}),
  };
}

function table(rows: readonly ModelListing[]): string {
  const header = ['ID', 'TASK', 'PACKAGE', 'LICENCE', 'RANGE', 'DIV', 'SCALE', 'TILE/MIN/OVERLAP'];
  const cells = rows.map((r) => [
    r.id,
    r.task,
    r.package === 'clearsight' ? `trained here (${r.file ?? `models/${r.name}`})` : r.version ? `${r.package}@${r.version}` : `${r.package} (not installed)`,
    r.licence ?? '-',
    `[${r.io.range[0]},${r.io.range[1]}]`,
    ...(r.network
      ? [`=${r.network.inputSize}`, '-', `${r.network.outputs.length} output${r.network.outputs.length > 1 ? 's' : ''}`]
      : [String(r.io.divisibility), `x${r.io.scale}`, `${r.io.maxTile}/${r.io.minTile}/${r.io.overlap}`]),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return `${[header, ...cells].map(line).join('\n')}\n`;
}

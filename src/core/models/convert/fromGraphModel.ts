import type { AttrValue, IrGraph, IrNode } from './ir.js';
import { isControlInput, normalizeRef } from './ir.js';
import type { ConstTensor, DType } from './tensor.js';
import type { TfjsArtifacts } from './tfjsArtifacts.js';
import { conversionFailed } from './fail.js';

/** A node as TensorFlow.js graph-model JSON stores it (a GraphDef in JSON). */
interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, RawAttr>;
}

interface RawAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: Array<string | number>; s?: string[]; f?: number[]; type?: string[] };
  shape?: { dim?: Array<{ size: string | number }>; unknownRank?: boolean };
}

const TF_DTYPES: Record<string, DType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool' };

/** Converts a tfjs graph model (GraphDef JSON + decoded weights) into the IR. */
export function graphModelToIr(artifacts: TfjsArtifacts): IrGraph {
  const topology = artifacts.json.modelTopology as { node: GraphDefNode[]; library?: { function?: unknown[] } };
  if ((topology.library?.function ?? []).length > 0) {
    throw conversionFailed('graph models with function libraries (control flow) are not supported');
  }
  const nodes: IrNode[] = [];
  const inputs: string[] = [];
  const constants = new Map<string, ConstTensor>();
  const consumed = new Set<string>();
  for (const raw of topology.node) {
    const attrs = parseAttrs(raw.attr ?? {});
    const dataInputs = (raw.input ?? []).filter((r) => !isControlInput(r)).map(normalizeRef);
    for (const ref of dataInputs) consumed.add(ref.split(':')[0]);
    if (raw.op === 'Const') {
      const value = artifacts.weights.get(raw.name);
      if (!value) throw conversionFailed(`Const node ${raw.name} has no weight in the manifest`);
      constants.set(raw.name, value);
    }
    if (raw.op === 'Placeholder') inputs.push(raw.name);
    nodes.push({ name: raw.name, op: raw.op, inputs: dataInputs, attrs });
  }
  // Outputs: the signature's, in its order, when the model has one (a signature output may also
  // feed other nodes, as faceres' descriptor does); otherwise the nodes nobody consumes
  // (jax2tf exports store no signature), Const excluded.
  const signed = signatureOutputs(artifacts);
  const outputs = signed ?? nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder').map((n) => n.name);
  return { nodes, inputs, outputs, constants };
}

function signatureOutputs(artifacts: TfjsArtifacts): string[] | undefined {
  const outputs = (artifacts.json as { signature?: { outputs?: Record<string, { name?: string }> } }).signature?.outputs;
  if (!outputs || Object.keys(outputs).length === 0) return undefined;
  return Object.entries(outputs).map(([key, spec]) => normalizeRef(spec.name ?? key));
}

function parseAttrs(raw: Record<string, RawAttr>): Record<string, AttrValue> {
  const attrs: Record<string, AttrValue> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_')) continue;
    const parsed = parseAttr(value);
    if (parsed !== undefined) attrs[key] = parsed;
  }
  return attrs;
}

function parseAttr(value: RawAttr): AttrValue | undefined {
  if (value.s !== undefined) return Buffer.from(value.s, 'base64').toString('utf8');
  if (value.i !== undefined) return Number(value.i);
  if (value.f !== undefined) return Number(value.f);
  if (value.b !== undefined) return value.b;
  if (value.type !== undefined) return TF_DTYPES[value.type] ?? (value.type as DType);
  if (value.list !== undefined) {
    if (value.list.i) return value.list.i.map(Number);
    if (value.list.f) return value.list.f.map(Number);
    // String lists (a fused op's `fused_ops`) are joined with commas: op names never contain one.
    if (value.list.s) return value.list.s.map((x) => Buffer.from(x, 'base64').toString('utf8')).join(',');
    return [];
  }
  if (value.shape !== undefined) return (value.shape.dim ?? []).map((d) => Number(d.size));
  return undefined;
}

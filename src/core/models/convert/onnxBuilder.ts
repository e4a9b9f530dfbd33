import onnxProto from 'onnx-proto';
import type { ConstTensor, DType } from './tensor.js';

const { onnx } = onnxProto;

/** ONNX opset the emitter targets: 17 for LayerNormalization, 20 for Gelu(approximate='tanh'). */
export const OPSET = 20;

const DATA_TYPE: Record<DType | 'int64', number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  int64: onnx.TensorProto.DataType.INT64,
};

export type OnnxAttr = number | number[] | string | { floats: number[] } | { float: number };

/**
 * Accumulates ONNX nodes and initializers with unique names. Constants with the
 * same content are stored once (shape vectors, scalars and perms repeat thousands
 * of times in a MAXIM graph).
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly byContent = new Map<string, string>();

  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./-]/g, '_');
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}__${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a constant; small ones are deduplicated by content. */
  constant(value: ConstTensor, hint: string): string {
    const key = value.data.length <= 64 ? `${value.dtype}|${value.shape.join(',')}|${Array.from(value.data).join(',')}` : undefined;
    if (key) {
      const existing = this.byContent.get(key);
      if (existing) return existing;
    }
    const name = this.fresh(hint);
    const bytes = new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength);
    this.initializers.push({ name, dims: [...value.shape], dataType: DATA_TYPE[value.dtype], rawData: bytes });
    if (key) this.byContent.set(key, name);
    return name;
  }

  int64(values: readonly number[], hint = 'const_i64'): string {
    const key = `int64|${values.join(',')}`;
    const existing = this.byContent.get(key);
    if (existing) return existing;
    const name = this.fresh(hint);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: DATA_TYPE.int64, rawData: new Uint8Array(data.buffer) });
    this.byContent.set(key, name);
    return name;
  }

  scalarFloat(value: number): string {
    return this.constant({ dtype: 'float32', shape: [], data: new Float32Array([value]) }, 'const_f32');
  }

  node(opType: string, inputs: readonly string[], attrs: Record<string, OnnxAttr> = {}, hint = opType): string {
    const output = this.fresh(hint);
    this.nodes.push({
      opType,
      name: output,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attrs).map(([name, v]) => toAttribute(name, v)),
    });
    return output;
  }

  /** Serialises the model; a string dimension is symbolic (dynamic: height, width). */
  build(
    input: { name: string; shape: readonly (number | string)[] },
    outputs: ReadonlyArray<{ name: string; shape: readonly (number | string)[] }>,
    docString: string,
  ): Uint8Array {
    const valueInfo = (name: string, shape: readonly (number | string)[]) => ({
      name,
      type: { tensorType: { elemType: DATA_TYPE.float32, shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'clearsight',
      producerVersion: '1',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: 'clearsight_converted',
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(input.name, input.shape)],
        output: outputs.map((o) => valueInfo(o.name, o.shape)),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** True when `name` is a node output (not the graph input or an initializer). */
  producesTensor(name: string): boolean {
    return this.nodes.some((n) => n.output!.includes(name));
  }

  /** True when `name` was already given to a graph output by renameOutput. */
  isGraphOutput(name: string): boolean {
    return this.outputNames.has(name);
  }

  private readonly outputNames = new Set<string>();

  /** Renames the producer of `from` so the graph output gets a stable name. */
  renameOutput(from: string, to: string): void {
    this.outputNames.add(to);
    for (const n of this.nodes) {
      n.output = n.output!.map((o) => (o === from ? to : o));
      n.input = n.input!.map((i) => (i === from ? to : i));
    }
  }
}

function toAttribute(name: string, value: OnnxAttr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.FLOAT, f: value.float };
}

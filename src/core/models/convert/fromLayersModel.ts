import type { AttrValue, IrGraph, IrNode } from './ir.js';
import { tensor, type ConstTensor } from './tensor.js';
import type { TfjsArtifacts } from './tfjsArtifacts.js';
import { conversionFailed } from './fail.js';

/** A Keras layer as tfjs layers-model JSON stores it. */
interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<Array<[string, number, number, unknown?]>>;
}

interface KerasModelConfig {
  class_name: string;
  config: { layers: KerasLayer[]; input_layers: Array<[string, number, number]>; output_layers: Array<[string, number, number]> };
}

/**
 * Converts a tfjs layers model (a Keras functional model) into the same IR the
 * graph-model front-end produces: each layer becomes the TensorFlow ops it runs.
 * Custom layers known from the packages we ship (ESRGAN's MultiplyBeta and
 * PixelShuffleNx) are translated by meaning; unknown ones are a clear error.
 */
export function layersModelToIr(artifacts: TfjsArtifacts): IrGraph {
  const topology = artifacts.json.modelTopology as { model_config?: KerasModelConfig } & Partial<KerasModelConfig>;
  const model = (topology.model_config ?? topology) as KerasModelConfig;
  if (model.class_name !== 'Functional' && model.class_name !== 'Model') {
    throw conversionFailed(`layers model class ${model.class_name} is not supported (only functional models)`);
  }
  const nodes: IrNode[] = [];
  const constants = new Map<string, ConstTensor>();
  const outputOf = new Map<string, string>();
  const addConst = (name: string, value: ConstTensor): string => {
    constants.set(name, value);
    nodes.push({ name, op: 'Const', inputs: [], attrs: {} });
    return name;
  };
  const addNode = (name: string, op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string => {
    nodes.push({ name, op, inputs, attrs });
    return name;
  };
  const weight = (layer: string, which: string): ConstTensor => {
    const value = artifacts.weights.get(`${layer}/${which}`);
    if (!value) throw conversionFailed(`layer ${layer}: weight ${which} missing from the manifest`);
    return value;
  };

  for (const layer of model.config.layers) {
    if (layer.inbound_nodes.length > 1) throw conversionFailed(`layer ${layer.name} is shared (called ${layer.inbound_nodes.length} times): not supported`);
    const inputs = (layer.inbound_nodes[0] ?? []).map(([name]) => {
      const ref = outputOf.get(name);
      if (!ref) throw conversionFailed(`layer ${layer.name}: input ${name} not defined before use`);
      return ref;
    });
    const c = layer.config;
    const n = layer.name;
    let out: string;
    switch (layer.class_name) {
      case 'InputLayer':
        out = addNode(n, 'Placeholder', [], { dtype: 'float32' });
        break;
      case 'Conv2D': {
        if (c.data_format !== 'channels_last') throw conversionFailed(`layer ${n}: only channels_last is supported`);
        if (((c.groups as number | undefined) ?? 1) !== 1) throw conversionFailed(`layer ${n}: grouped convolution not supported`);
        const [sh, sw] = c.strides as number[];
        const [dh, dw] = c.dilation_rate as number[];
        const kernel = addConst(`${n}/kernel`, weight(n, 'kernel'));
        out = addNode(`${n}/Conv2D`, 'Conv2D', [inputs[0], kernel], {
          strides: [1, sh, sw, 1],
          dilations: [1, dh, dw, 1],
          padding: String(c.padding).toUpperCase(),
          data_format: 'NHWC',
        });
        if (c.use_bias !== false) out = addNode(`${n}/BiasAdd`, 'AddV2', [out, addConst(`${n}/bias`, weight(n, 'bias'))]);
        out = activation(addNode, n, String(c.activation ?? 'linear'), out);
        break;
      }
      case 'Activation':
        out = activation(addNode, n, String(c.activation), inputs[0]);
        break;
      case 'Concatenate':
        out = addNode(n, 'ConcatV2', [...inputs, addConst(`${n}/axis`, tensor('int32', [], [Number(c.axis ?? -1)]))]);
        break;
      case 'Add':
        out = inputs.slice(1).reduce((acc, x, i) => addNode(i === inputs.length - 2 ? n : `${n}/${i}`, 'AddV2', [acc, x]), inputs[0]);
        break;
      case 'UpSampling2D': {
        const [sh, sw] = c.size as number[];
        if (sh !== sw || c.interpolation !== 'nearest') throw conversionFailed(`layer ${n}: only square nearest upsampling is supported`);
        out = addNode(n, 'UpsampleNearest', [inputs[0]], { scale: sh });
        break;
      }
      case 'MultiplyBeta':
        out = addNode(n, 'Mul', [inputs[0], addConst(`${n}/beta`, tensor('float32', [], [Number(c.beta ?? 0.2)]))]);
        break;
      default: {
        const shuffle = /^PixelShuffle(\d+)x$/.exec(layer.class_name);
        if (!shuffle) throw conversionFailed(`layer class ${layer.class_name} (layer ${n}) is not supported by the converter`);
        out = addNode(n, 'DepthToSpace', [inputs[0]], { block_size: Number(c.scale ?? shuffle[1]) });
      }
    }
    outputOf.set(n, out);
  }
  const inputs = model.config.input_layers.map(([name]) => outputOf.get(name)!);
  const outputs = model.config.output_layers.map(([name]) => outputOf.get(name)!);
  return { nodes, inputs, outputs, constants };
}

function activation(addNode: (name: string, op: string, inputs: string[]) => string, layer: string, kind: string, x: string): string {
  if (kind === 'linear') return x;
  const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' }[kind];
  if (!op) throw conversionFailed(`layer ${layer}: activation ${kind} is not supported`);
  return addNode(`${layer}/${op}`, op, [x]);
}

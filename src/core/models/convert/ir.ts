import type { ConstTensor, DType } from './tensor.js';
import { conversionFailed } from './fail.js';

/**
 * The converter's intermediate representation: a TensorFlow-style graph.
 * Both front-ends (tfjs graph models, tfjs layers models) produce it and
 * one analyser + one ONNX emitter consume it, so every op is handled once.
 *
 * Tensor references follow TensorFlow: "node" is output 0, "node:1" output 1.
 */
export type AttrValue = number | string | boolean | number[] | DType;

export interface IrNode {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

export interface IrGraph {
  readonly nodes: readonly IrNode[];
  /** Placeholder node names, in the order the caller feeds them. */
  readonly inputs: readonly string[];
  /** Tensor references of the graph outputs. */
  readonly outputs: readonly string[];
  /** Values of Const nodes, by node name. */
  readonly constants: ReadonlyMap<string, ConstTensor>;
}

export function outputRef(node: string, index = 0): string {
  return index === 0 ? node : `${node}:${index}`;
}

/** Strips TensorFlow's control-dependency marker and normalises "x:0" to "x". */
export function normalizeRef(ref: string): string {
  const plain = ref.startsWith('^') ? ref.slice(1) : ref;
  return plain.endsWith(':0') ? plain.slice(0, -2) : plain;
}

export function isControlInput(ref: string): boolean {
  return ref.startsWith('^');
}

/** Orders nodes so that every node comes after the producers of its inputs. */
export function topologicalOrder(nodes: readonly IrNode[]): IrNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 1 | 2>();
  const order: IrNode[] = [];
  for (const root of nodes) {
    if (state.has(root.name)) continue;
    // Iterative DFS: MAXIM graphs are deep enough to overflow a recursive walk.
    const stack: Array<{ node: IrNode; next: number }> = [{ node: root, next: 0 }];
    state.set(root.name, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.node.inputs.length) {
        const producer = byName.get(producerOf(top.node.inputs[top.next++]));
        if (!producer) continue;
        const s = state.get(producer.name);
        if (s === 1) throw conversionFailed(`graph has a cycle through ${producer.name}`);
        if (s === undefined) {
          state.set(producer.name, 1);
          stack.push({ node: producer, next: 0 });
        }
      } else {
        state.set(top.node.name, 2);
        order.push(top.node);
        stack.pop();
      }
    }
  }
  return order;
}

export function producerOf(ref: string): string {
  const plain = ref.startsWith('^') ? ref.slice(1) : ref;
  const colon = plain.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(plain.slice(colon + 1)) ? plain.slice(0, colon) : plain;
}

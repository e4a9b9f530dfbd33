import type { Analysis } from './analyze.js';
import type { IrNode } from './ir.js';
import { producerOf } from './ir.js';
import { planEinsum } from './einsum.js';
import { toNumbers } from './tensor.js';

/**
 * Folds Transposes around Einsums into the equation itself.
 *
 * jax2tf writes MAXIM's gMLP "gating units" as swapaxes -> einsum -> swapaxes.
 * Each swapaxes moves a whole activation tensor (onnxruntime's strided Transpose
 * took ~0.5 s for a [1,256,640,32] tensor), while the same contraction expressed
 * over the original axis order is one broadcast MatMul with no data movement.
 * Relabelling the einsum letters makes the transposes disappear; the einsum
 * lowering then picks the MatMul arrangement that needs no activation transpose.
 *
 * Returns new nodes; `info` is updated for einsums whose output layout changed.
 */
export function foldTransposesIntoEinsums(order: readonly IrNode[], info: Analysis): IrNode[] {
  const byName = new Map(order.map((n) => [n.name, n]));
  const consumers = new Map<string, IrNode[]>();
  for (const n of order) for (const ref of n.inputs) consumers.set(ref, [...(consumers.get(ref) ?? []), n]);
  const replaced = new Map<string, IrNode>();

  for (const node of order) {
    if (node.op !== 'Einsum' || info.get(node.name)?.value) continue;
    const plan = planEinsum(node.attrs.equation as string);
    const operands = [plan.left, plan.right];
    const inputs = [...node.inputs];
    for (let i = 0; i < 2; i++) {
      const producer = byName.get(producerOf(inputs[i]));
      const perm = producer && transposePerm(producer, info);
      if (!producer || !perm || info.get(producer.name)?.value) continue;
      // Transpose output letters L_out[j] = L_in[perm[j]], so L_in[perm[j]] = L_out[j].
      const lettersIn = new Array<string>(perm.length);
      perm.forEach((p, j) => {
        lettersIn[p] = operands[i][j];
      });
      operands[i] = lettersIn.join('');
      inputs[i] = producer.inputs[0];
    }
    let output = plan.output;
    const users = consumers.get(node.name) ?? [];
    const single = users.length === 1 ? users[0] : undefined;
    const outPerm = single && transposePerm(single, info);
    if (single && outPerm) {
      output = outPerm.map((p) => plan.output[p]).join('');
      replaced.set(single.name, { name: single.name, op: 'Identity', inputs: [node.name], attrs: {} });
      info.set(node.name, info.get(single.name)!);
    }
    const equation = `${operands[0]},${operands[1]}->${output}`;
    if (equation !== node.attrs.equation || inputs.some((r, i) => r !== node.inputs[i])) {
      replaced.set(node.name, { ...node, inputs, attrs: { ...node.attrs, equation } });
    }
  }
  return order.map((n) => replaced.get(n.name) ?? n);
}

function transposePerm(node: IrNode, info: Analysis): number[] | undefined {
  if (node.op !== 'Transpose') return undefined;
  const perm = info.get(node.inputs[1])?.value;
  return perm ? toNumbers(perm) : undefined;
}

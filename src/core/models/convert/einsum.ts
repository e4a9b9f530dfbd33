import { conversionFailed } from './fail.js';
/**
 * Two-operand einsum, classified for lowering to one batched MatMul:
 * batch letters (in both inputs and the output), contracted letters (in both
 * inputs, not the output), and free letters of each side.
 */
export interface EinsumPlan {
  readonly left: string;
  readonly right: string;
  readonly output: string;
  readonly batch: string;
  readonly contracted: string;
  readonly leftFree: string;
  readonly rightFree: string;
}

export function planEinsum(equation: string): EinsumPlan {
  const match = /^([a-z]+),([a-z]+)->([a-z]*)$/.exec(equation.replace(/\s+/g, ''));
  if (!match) throw conversionFailed(`einsum "${equation}": only two-operand equations with explicit output are supported`);
  const [, left, right, output] = match;
  for (const s of [left, right, output]) {
    if (new Set(s).size !== s.length) throw conversionFailed(`einsum "${equation}": repeated index (trace/diagonal) not supported`);
  }
  const inBoth = (c: string) => left.includes(c) && right.includes(c);
  const batch = [...output].filter(inBoth).join('');
  const contracted = [...left].filter((c) => right.includes(c) && !output.includes(c)).join('');
  const leftFree = [...left].filter((c) => !right.includes(c)).join('');
  const rightFree = [...right].filter((c) => !left.includes(c)).join('');
  for (const c of left + right) {
    if (!output.includes(c) && !contracted.includes(c)) {
      throw conversionFailed(`einsum "${equation}": index ${c} is summed over one operand only (not supported)`);
    }
  }
  return { left, right, output, batch, contracted, leftFree, rightFree };
}

export function einsumSizes(plan: EinsumPlan, leftShape: readonly number[], rightShape: readonly number[]): Map<string, number> {
  const sizes = new Map<string, number>();
  const bind = (letters: string, shape: readonly number[]) => {
    if (letters.length !== shape.length) throw conversionFailed(`einsum operand ${letters} has rank ${shape.length}`);
    [...letters].forEach((c, i) => {
      const prev = sizes.get(c);
      if (prev !== undefined && prev !== shape[i]) throw conversionFailed(`einsum index ${c}: sizes ${prev} and ${shape[i]} differ`);
      sizes.set(c, shape[i]);
    });
  };
  bind(plan.left, leftShape);
  bind(plan.right, rightShape);
  return sizes;
}

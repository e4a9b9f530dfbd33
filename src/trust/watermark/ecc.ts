/**
 * Error-correcting code: the rate-1/2, constraint-length-7 convolutional code (generators 133,
 * 171 octal; the NASA/CCSDS "Voyager" code) terminated with 6 zero tail bits, decoded with a
 * soft-decision Viterbi decoder.
 *
 * Why this code: the watermark channel delivers soft values (correlations whose magnitude says
 * how sure each bit is). Soft Viterbi uses them directly and gains about 2 dB over hard-decision
 * block codes of the same rate; its free distance is 10, so any pattern of up to 4 hard errors
 * in a block is always corrected (maximum-likelihood decoding corrects every error pattern of
 * weight <= (d_free - 1) / 2), and typically far more when errors are spread out, which the
 * interleaver (the chaotic permutation) makes sure of.
 */
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';

export const CONSTRAINT = 7;
export const TAIL = CONSTRAINT - 1;
const G0 = 0o133;
const G1 = 0o171;
const STATES = 1 << TAIL;
export const FREE_DISTANCE = 10;
/** Hard errors always corrected in a block. */
export const GUARANTEED_CORRECTION = (FREE_DISTANCE - 1) >> 1;

function parity(v: number): number {
  v ^= v >> 4;
  v ^= v >> 2;
  v ^= v >> 1;
  return v & 1;
}

/** Output pair for (state, input): state holds the previous 6 input bits, newest in bit 5. */
const OUT0 = new Uint8Array(STATES * 2);
const OUT1 = new Uint8Array(STATES * 2);
for (let s = 0; s < STATES; s++) {
  for (let b = 0; b < 2; b++) {
    const reg = (b << TAIL) | s; // 7-bit register, newest bit at the top
    OUT0[s * 2 + b] = parity(reg & G0);
    OUT1[s * 2 + b] = parity(reg & G1);
  }
}
const nextState = (s: number, b: number): number => ((b << TAIL) | s) >> 1;

/** Number of coded bits for k information bits. */
export function codedLength(k: number): number {
  return 2 * (k + TAIL);
}

/** Encodes bits (0/1) into 2 * (k + 6) coded bits. */
export function convEncode(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(codedLength(bits.length));
  let s = 0;
  for (let i = 0; i < bits.length + TAIL; i++) {
    const b = i < bits.length ? bits[i] & 1 : 0;
    out[2 * i] = OUT0[s * 2 + b];
    out[2 * i + 1] = OUT1[s * 2 + b];
    s = nextState(s, b);
  }
  return out;
}

/**
 * Soft-decision Viterbi decoding. `soft[i]` > 0 means coded bit i is more likely 1, < 0 more
 * likely 0, with magnitude proportional to confidence (a log-likelihood ratio up to scale; 0 =
 * erased). Returns the k information bits of the most likely terminated code word.
 */
export function viterbiDecode(soft: ArrayLike<number>, k: number): Uint8Array {
  const steps = k + TAIL;
  if (soft.length !== 2 * steps) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `viterbiDecode: expected ${2 * steps} soft values, got ${soft.length}`);
  const NEG = -1e300;
  let metric = new Float64Array(STATES).fill(NEG);
  let next = new Float64Array(STATES);
  metric[0] = 0;
  // Survivor decisions: the input bit and predecessor per (step, state).
  const prev = new Uint8Array(steps * STATES);
  for (let t = 0; t < steps; t++) {
    next.fill(NEG);
    const s0 = soft[2 * t];
    const s1 = soft[2 * t + 1];
    const maxInput = t < k ? 1 : 0;
    for (let s = 0; s < STATES; s++) {
      const m = metric[s];
      if (m === NEG) continue;
      for (let b = 0; b <= maxInput; b++) {
        const o = s * 2 + b;
        const gain = (OUT0[o] ? s0 : -s0) + (OUT1[o] ? s1 : -s1);
        const ns = nextState(s, b);
        const cand = m + gain;
        if (cand > next[ns]) {
          next[ns] = cand;
          prev[t * STATES + ns] = s & 1 ? 1 : 0; // the bit shifted out identifies the predecessor
        }
      }
    }
    const tmp = metric;
    metric = next;
    next = tmp;
  }
  // Terminated code: trace back from state 0.
  const bits = new Uint8Array(steps);
  let s = 0;
  for (let t = steps - 1; t >= 0; t--) {
    const b = (s >> (TAIL - 1)) & 1; // the newest input bit sits at the top of the state
    bits[t] = b;
    const lowBit = prev[t * STATES + s];
    s = ((s << 1) & (STATES - 1)) | lowBit;
  }
  return bits.subarray(0, k);
}

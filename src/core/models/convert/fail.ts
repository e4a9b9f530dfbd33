import { ClearsightError, ERROR_CODES } from '../../errors.js';

/** The converter's one failure: the tfjs graph or weights cannot be turned into ONNX (E_MODEL_CONVERSION). */
export function conversionFailed(message: string, details: Record<string, unknown> = {}): ClearsightError {
  return new ClearsightError(ERROR_CODES.MODEL_CONVERSION, message, details);
}

/** Boundary checks shared by the filters (private module). */
import { invalidOption } from '../errors.js';

/** Width and height are positive integers and `plane` holds exactly width*height samples. */
export function checkPlane(name: string, plane: unknown, width: number, height: number): asserts plane is Float32Array {
  if (!Number.isInteger(width) || width < 1) throw invalidOption('width', 'an integer >= 1', width);
  if (!Number.isInteger(height) || height < 1) throw invalidOption('height', 'an integer >= 1', height);
  if (!(plane instanceof Float32Array)) throw invalidOption(name, 'a Float32Array', typeof plane);
  if (plane.length !== width * height) {
    throw invalidOption(name, `a Float32Array of width*height = ${width * height} samples`, `${plane.length} samples`);
  }
}

export function checkRadius(name: string, radius: unknown, min = 0): asserts radius is number {
  if (typeof radius !== 'number' || !Number.isInteger(radius) || radius < min) {
    throw invalidOption(name, `an integer >= ${min}`, radius);
  }
}

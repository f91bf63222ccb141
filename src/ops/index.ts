// One file per op: validate inputs, parse attributes, describe the program
// (dispatch size + shader) and record it. Backward rules sit next to the
// forward op they belong to.
export { activation, activationBackward, relu, type ActivationAttrs, type ActivationKind, type BackwardRule } from './activation.js';

// Errors of the GPU input/output and live paths that src/gpu/errors.ts has no
// class for. Both are UnsupportedErrors (code 'unsupported'): the source
// cannot be used, now or at all, and the message says why.
import { UnsupportedError } from '../gpu/errors.js';

/** A video with no frame yet, an image still loading: try again once it has pixels. */
export class NotReadyError extends UnsupportedError {}

/** The user or the browser refused the camera (getUserMedia's NotAllowedError / NotFoundError ...). */
export class CameraError extends UnsupportedError {
  constructor(message: string, readonly reason: string) { super(message); }
}

// Typed errors. Every error the library throws on purpose is a DeconvNetError
// whose `code` a caller can switch on and whose message names what is wrong.

export type ErrorCode =
  | 'shape'
  | 'range'
  | 'limit'
  | 'device-lost'
  | 'gpu-validation'
  | 'gpu-out-of-memory'
  | 'unsupported'
  | 'destroyed'
  | 'diverged'
  | 'format';

export class DeconvNetError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

// Each class below names itself in a string: minifiers rename classes, and a
// host app's logs should still say ShapeError, not `L`.

/** An input or weight whose shape does not fit the operation. */
export class ShapeError extends DeconvNetError {
  override readonly name: string = 'ShapeError';
  constructor(message: string) { super('shape', message); }
}

/** A layer, channel, position or attribute outside its valid range. */
export class OutOfRangeError extends DeconvNetError {
  override readonly name: string = 'OutOfRangeError';
  constructor(message: string) { super('range', message); }
}

/** A tensor or dispatch larger than the device allows. */
export class DeviceLimitError extends DeconvNetError {
  override readonly name: string = 'DeviceLimitError';
  constructor(message: string) { super('limit', message); }
}

/** The GPUDevice was lost (destroyed, driver reset, ...). */
export class DeviceLostError extends DeconvNetError {
  override readonly name: string = 'DeviceLostError';
  constructor(operation: string, readonly reason: string) {
    super('device-lost', `${operation}: GPU device lost (${reason})`);
  }
}

/** A WebGPU validation error (bad shader, bad binding) caught by an error scope. */
export class GpuValidationError extends DeconvNetError {
  override readonly name: string = 'GpuValidationError';
  constructor(operation: string, gpuMessage: string) {
    super('gpu-validation', `${operation}: WebGPU validation error: ${gpuMessage}`);
  }
}

export class GpuOutOfMemoryError extends DeconvNetError {
  override readonly name: string = 'GpuOutOfMemoryError';
  constructor(operation: string, gpuMessage: string) {
    super('gpu-out-of-memory', `${operation}: GPU out of memory: ${gpuMessage}`);
  }
}

export class UnsupportedError extends DeconvNetError {
  override readonly name: string = 'UnsupportedError';
  constructor(message: string) { super('unsupported', message); }
}

/** Using a runtime, model or tensor after destroy()/release(). */
export class DestroyedError extends DeconvNetError {
  override readonly name: string = 'DestroyedError';
  constructor(message: string) { super('destroyed', message); }
}

/** Training produced a NaN or infinite loss. */
export class TrainingDivergedError extends DeconvNetError {
  override readonly name: string = 'TrainingDivergedError';
  constructor(readonly step: number, loss: number) {
    super('diverged', `training diverged at step ${step}: loss is ${loss}`);
  }
}

/** A model or data file that is malformed, truncated or of the wrong kind; the message names the file and the place. */
export class FormatError extends DeconvNetError {
  override readonly name: string = 'FormatError';
  constructor(message: string) { super('format', message); }
}

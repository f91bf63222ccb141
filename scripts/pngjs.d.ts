// The part of pngjs (installed with @vitest/browser; no @types package) that scripts/image-io.ts uses.
declare module 'pngjs' {
  export const PNG: {
    sync: {
      read(buffer: Buffer): { width: number; height: number; data: Buffer };
    };
  };
}

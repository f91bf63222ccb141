// The part of pngjs (a devDependency; no @types package installed) that scripts/image-io.ts uses.
declare module 'pngjs' {
  export const PNG: {
    sync: {
      read(buffer: Buffer): { width: number; height: number; data: Buffer };
    };
  };
}

declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Template tag: resolves `#if ${cond}` / `#elif` / `#else` / `#endif` blocks. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}

// Vite's `?raw` imports: a file's text, as a string (test/zitadel/protos.test.ts reads a generated file).
declare module "*?raw" {
  const text: string;
  export default text;
}

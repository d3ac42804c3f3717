// Lines of a byte stream (NDJSON), read as they arrive: nothing but the current line is held in
// memory, and a line longer than `maxBytes` is skipped to its end and reported, not buffered.

export type Line = { number: number; text: string } | { number: number; tooLong: true };

export async function* readLines(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<Line> {
  const decoder = new TextDecoder();
  let parts: Uint8Array[] = [];
  let size = 0;
  let skipping = false;
  let number = 0;
  const finish = (): Line => {
    number++;
    if (skipping) return { number, tooLong: true };
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return { number, text: decoder.decode(bytes).replace(/\r$/, "") };
  };
  const reset = () => {
    parts = [];
    size = 0;
    skipping = false;
  };
  const add = (piece: Uint8Array) => {
    if (skipping) return;
    if (size + piece.length > maxBytes) {
      skipping = true;
      parts = [];
      return;
    }
    parts.push(piece);
    size += piece.length;
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let start = 0;
      for (let i = value.indexOf(10); i !== -1; i = value.indexOf(10, start)) {
        add(value.subarray(start, i));
        yield finish();
        reset();
        start = i + 1;
      }
      // Copied: the reader may reuse its chunk's memory.
      if (start < value.length) add(value.slice(start));
    }
    if (size > 0 || skipping) yield finish();
  } finally {
    // A caller that stops early gets the stream back (to drain or cancel it).
    reader.releaseLock();
  }
}

// lib/lines.ts: NDJSON lines from a byte stream, whatever the chunking, with oversize lines skipped.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Line, readLines } from "../../src/lib/lines";

function streamOf(text: string, chunkSizes: number[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = Math.max(1, chunkSizes[i % chunkSizes.length] ?? 1);
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, max = 1024): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(stream, max)) out.push(line);
  return out;
}

describe("readLines", () => {
  it("numbers lines, strips CRLF, keeps a last line without a newline", async () => {
    expect(await collect(streamOf('{"a":1}\r\n\n{"b":"日本"}', [3]))).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 2, text: "" },
      { number: 3, text: '{"b":"日本"}' },
    ]);
  });

  it("reports a line over the cap without holding it, then goes on", async () => {
    expect(await collect(streamOf(`short\n${"x".repeat(50)}\nafter\n`, [7]), 20)).toEqual([
      { number: 1, text: "short" },
      { number: 2, tooLong: true },
      { number: 3, text: "after" },
    ]);
  });

  it("gives the same lines for any chunking (multi-byte characters split across chunks)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !/[\r\n]/.test(s)), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), async (lines, sizes) => {
        const text = lines.map((l) => `${l}\n`).join("");
        const got = await collect(streamOf(text, sizes));
        expect(got).toEqual(lines.map((l, i) => ({ number: i + 1, text: l })));
      }),
      { numRuns: 100 },
    );
  });
});

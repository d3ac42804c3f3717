// The Connect and gRPC-web wire around connect-es's router: the request body handed to it, gzip,
// and the errors connect-es raises on its own (bad framing, an unparsable message, an unknown
// encoding), which carry no zitadel.v1.ErrorDetail and, for binary protobuf, the parser's text
// under code Internal. Every answer on these paths leaves here in ZITADEL's shape.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Compression,
  createEnvelopeReadableStream,
  encodeEnvelope,
  type EnvelopedMessage,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema } from "./protos.gen";
import { MAX_BODY_BYTES } from "../../http";
import { invalidArgument, toConnectError, unimplemented, ZitadelError } from "./errors";

/**
 * The request body as connect-es reads it, taking the stream's reader only when the first chunk
 * is wanted. connect-es's own adapter locks the stream at once; when the request gate refused the
 * call (no token), the body stayed locked and unread, the runtime could not drain it ("locked to a
 * reader", logged per request) and a flood of such requests stalled every other route.
 * `release()` cancels what a started read left over; a body never touched is left to the runtime,
 * which drains it.
 */
export function lazyBody(stream: ReadableStream<Uint8Array> | null) {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let finished = stream === null;
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Uint8Array>> {
        if (finished || !stream) return { done: true, value: undefined };
        reader ??= stream.getReader();
        const chunk = await reader.read();
        if (chunk.done) finished = true;
        return chunk.done ? { done: true, value: undefined } : { done: false, value: chunk.value };
      },
      async return(): Promise<IteratorResult<Uint8Array>> {
        await release();
        return { done: true, value: undefined };
      },
    }),
  };
  async function release(): Promise<void> {
    if (!reader || finished) return;
    finished = true;
    await reader.cancel().catch(() => {});
  }
  return { iterable, release };
}

async function collect(chunks: AsyncIterable<Uint8Array>, limit: number, tooLarge: () => Error): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    parts.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

const tooLarge = (limit: number) => toConnectError(new ZitadelError(Code.ResourceExhausted, "LATCHKEY-INPUT", `Request bodies are limited to ${limit} bytes`));

async function through(stream: CompressionStream | DecompressionStream, bytes: Uint8Array, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const writer = stream.writable.getWriter();
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks = {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value as Uint8Array;
        }
      } finally {
        await reader.cancel().catch(() => {});
      }
    },
  };
  return collect(chunks, limit, () => tooLarge(limit));
}

/**
 * gzip for Connect's Content-Encoding and gRPC-web's grpc-encoding (both allow it). What a body
 * inflates to is capped like the body itself, so a small bomb cannot fill the isolate's memory.
 */
export const gzip: Compression = {
  name: "gzip",
  compress: (bytes) => through(new CompressionStream("gzip"), bytes, Number.MAX_SAFE_INTEGER),
  async decompress(bytes, readMaxBytes) {
    if (bytes.byteLength === 0) return new Uint8Array(0);
    try {
      return await through(new DecompressionStream("gzip"), bytes, Math.min(readMaxBytes, MAX_BODY_BYTES));
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      throw toConnectError(invalidArgument("The request body is not valid gzip"));
    }
  },
};

const hasZitadelDetail = (e: ConnectError) => e.findDetails(ErrorDetailSchema).length > 0;

/**
 * An error connect-es raised itself, in ZITADEL's terms. connect-es answers an unparsable binary
 * message with Internal and the parser's text; it is the caller's input, so InvalidArgument with
 * a text of ours. Other codes keep their meaning and gain the ErrorDetail.
 */
export function fromLibraryError(e: ConnectError, inputType: string): ZitadelError {
  switch (e.code) {
    case Code.Internal:
      return invalidArgument(`The request body is not a valid ${inputType} message`);
    case Code.InvalidArgument:
      // A bad connect-timeout-ms / grpc-timeout header keeps connect-es's words; everything else
      // here is the body (framing, JSON), described without the parser's text.
      return invalidArgument(/timeout/i.test(e.rawMessage) ? e.rawMessage : `The request body is not a valid ${inputType} message`);
    case Code.ResourceExhausted:
      return new ZitadelError(Code.ResourceExhausted, "LATCHKEY-INPUT", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    case Code.Unimplemented:
      return unimplemented(e.rawMessage);
    default:
      return new ZitadelError(e.code, "LATCHKEY-INPUT", e.rawMessage);
  }
}

/** A Connect error answer: JSON {code, message, details} with the HTTP status Connect gives the code. */
export function connectErrorResponse(e: ZitadelError, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  const body = errorToJsonBytes(toConnectError(e), undefined);
  const headers: Record<string, string> = { "Content-Type": "application/json", ...init.headers };
  if (e.retryAfterSeconds !== undefined) headers["Retry-After"] = String(e.retryAfterSeconds);
  return new Response(body, { status: init.status ?? codeToHttpStatus(e.code), headers });
}

/**
 * A gRPC "Trailers-Only" answer: the status, message and ErrorDetail travel in the headers, so
 * neither HTTP/2 trailers nor a body are needed (native gRPC and gRPC-web clients both read it).
 */
export function grpcHeadersOnly(contentType: string, e: ZitadelError): Response {
  const headers = setTrailerStatus(new Headers({ "Content-Type": contentType }), toConnectError(e));
  return new Response(null, { status: 200, headers });
}

/** Connect unary: a failed call has a non-200 status and one JSON error body. */
export async function shapeConnectResponse(res: UniversalServerResponse, inputType: string): Promise<UniversalServerResponse> {
  if (res.status === 200 || !res.body) return res;
  const bytes = await collect(res.body, Number.MAX_SAFE_INTEGER, () => new Error("unreachable"));
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Internal));
  if (hasZitadelDetail(error)) return { ...res, body: single(bytes) };
  const shaped = toConnectError(fromLibraryError(error, inputType));
  const body = errorToJsonBytes(shaped, undefined);
  const header = new Headers(res.header);
  header.set("Content-Type", "application/json");
  header.set("Content-Length", String(body.byteLength));
  return { status: codeToHttpStatus(shaped.code), header, body: single(body) };
}

/** gRPC-web: the status is in the trailer frame at the end of the body. */
export async function shapeGrpcWebResponse(res: UniversalServerResponse, inputType: string): Promise<UniversalServerResponse> {
  if (!res.body) return res;
  const bytes = await collect(res.body, Number.MAX_SAFE_INTEGER, () => new Error("unreachable"));
  const envelopes: EnvelopedMessage[] = [];
  const reader = createEnvelopeReadableStream(new Blob([bytes]).stream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    envelopes.push(value);
  }
  const out = envelopes.map((envelope) => {
    if ((envelope.flags & trailerFlag) !== trailerFlag) return envelope;
    const error = findTrailerError(trailerParse(envelope.data));
    if (!error || hasZitadelDetail(error)) return envelope;
    const trailer = setTrailerStatus(new Headers(), toConnectError(fromLibraryError(error, inputType)));
    return { flags: trailerFlag, data: trailerSerialize(trailer) };
  });
  const parts = out.map((e) => encodeEnvelope(e.flags, e.data));
  return { ...res, body: single(await collect(single(...parts), Number.MAX_SAFE_INTEGER, () => new Error("unreachable"))) };
}

function single(...chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
  };
}

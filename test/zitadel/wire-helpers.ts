// Connect and gRPC-web error answers, read with connect-es's own parsers.
import { Code, ConnectError } from "@connectrpc/connect";
import { createEnvelopeReadableStream } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { expect } from "vitest";
import { call } from "../helpers";

export function rpc(path: string, init: { token?: string; contentType?: string; body?: BodyInit; method?: string; headers?: Record<string, string> }) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.contentType) headers["Content-Type"] = init.contentType;
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  return call(path, { method: init.method ?? "POST", headers, ...(init.body !== undefined ? { body: init.body } : {}) });
}

/** A Connect error answer: JSON, the code, and ZITADEL's ErrorDetail (decoded from its binary value). */
export async function connectError(res: Response): Promise<{ status: number; error: ConnectError; detail: { id: string; message: string } }> {
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError("not a Connect error body", Code.Unknown));
  const details = error.findDetails(ErrorDetailSchema);
  expect(details, new TextDecoder().decode(bytes)).toHaveLength(1);
  expect(error.rawMessage).toBe(`${details[0]!.message} (${details[0]!.id})`);
  return { status: res.status, error, detail: details[0]! };
}

/** A gRPC-web error: status 200, grpc-status in the headers (Trailers-Only) or in the trailer frame. */
export async function grpcWebError(res: Response): Promise<{ error: ConnectError; detail: { id: string; message: string } }> {
  expect(res.status).toBe(200);
  let error = findTrailerError(res.headers);
  if (!error) {
    const reader = createEnvelopeReadableStream(res.body!).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if ((value.flags & trailerFlag) === trailerFlag) error = findTrailerError(trailerParse(value.data));
    }
  }
  expect(error).toBeDefined();
  const details = error!.findDetails(ErrorDetailSchema);
  expect(details).toHaveLength(1);
  return { error: error!, detail: details[0]! };
}


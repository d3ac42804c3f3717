// src/faces/zitadel/protos.gen.ts is generated from the installed @zitadel/proto by
// scripts/gen-protos.mjs. These tests fail when it is out of date (an upgraded @zitadel/proto, a
// method added to the served list without regenerating) and when a trimmed descriptor differs
// from upstream in anything the wire sees, so REST, Connect and gRPC-web stay byte-for-byte
// what @zitadel/proto would give.
import type { DescEnum, DescField, DescMessage, DescMethod } from "@bufbuild/protobuf";
import { ErrorDetailSchema as UpstreamErrorDetail } from "@zitadel/proto/zitadel/message_pb.js";
import { SessionService as UpstreamSessionService } from "@zitadel/proto/zitadel/session/v2/session_service_pb.js";
import { UserService as UpstreamUserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { describe, expect, it } from "vitest";
import { generateProtos, SERVED } from "../../scripts/gen-protos.mjs";
import * as gen from "../../src/faces/zitadel/protos.gen";
import committed from "../../src/faces/zitadel/protos.gen.ts?raw";

type Desc = DescMessage | DescEnum;

/** Every message and enum a descriptor reaches, by type name. */
function reach(roots: Desc[]): Map<string, Desc> {
  const seen = new Map<string, Desc>();
  const visit = (d: Desc) => {
    if (seen.has(d.typeName)) return;
    seen.set(d.typeName, d);
    if (d.kind !== "message") return;
    for (const f of d.fields) {
      if (f.message) visit(f.message);
      if (f.enum) visit(f.enum);
    }
  };
  roots.forEach(visit);
  return seen;
}

const methodRoots = (methods: DescMethod[]) => methods.flatMap((m) => [m.input, m.output]);

/** What the runtime reads from a field to encode and decode it, in binary and in JSON. */
const FIELD_WIRE = ["name", "number", "jsonName", "localName", "fieldKind", "scalar", "longAsString", "presence", "packed", "delimitedEncoding", "mapKey", "listKind"];
function wireOf(f: DescField) {
  const props = f as unknown as Record<string, unknown>;
  return {
    ...Object.fromEntries(FIELD_WIRE.map((key) => [key, props[key]])),
    message: f.message?.typeName,
    enum: f.enum?.typeName,
    oneof: f.oneof?.name,
    proto3Optional: f.proto.proto3Optional,
  };
}

function wireOfDesc(d: Desc) {
  if (d.kind === "enum") return { typeName: d.typeName, open: d.open, values: d.values.map((v) => [v.name, v.number, v.localName]) };
  return {
    typeName: d.typeName,
    fields: d.fields.map(wireOf),
    oneofs: d.oneofs.map((o) => [o.name, o.localName, o.fields.map((f) => f.name)]),
  };
}

const wireOfMethod = (m: DescMethod) => ({
  name: m.name,
  localName: m.localName,
  kind: m.methodKind,
  input: m.input.typeName,
  output: m.output.typeName,
  idempotency: m.idempotency,
});

describe("protos.gen.ts", () => {
  it("is what scripts/gen-protos.mjs writes for the installed @zitadel/proto", async () => {
    expect(await generateProtos()).toBe(committed);
  });

  it("serves exactly the methods scripts/gen-protos.mjs lists, each as upstream declares it", () => {
    for (const [ours, upstream] of [
      [gen.UserService, UpstreamUserService],
      [gen.SessionService, UpstreamSessionService],
    ] as const) {
      expect(ours.typeName).toBe(upstream.typeName);
      expect(ours.methods.map((m) => m.localName).sort()).toEqual([...(SERVED[upstream.typeName] ?? [])].sort());
      for (const m of ours.methods) {
        const theirs = upstream.methods.find((u) => u.name === m.name);
        expect(theirs, m.name).toBeDefined();
        expect(wireOfMethod(m)).toEqual(wireOfMethod(theirs!));
      }
    }
  });

  it("keeps every message and enum the served methods reach, and each reads and writes like upstream's", () => {
    const oursReached = reach([...methodRoots([...gen.UserService.methods, ...gen.SessionService.methods]), gen.ErrorDetailSchema]);
    const served = (s: typeof UpstreamUserService | typeof UpstreamSessionService) => s.methods.filter((m) => SERVED[s.typeName]!.includes(m.localName));
    const upstreamReached = reach([...methodRoots([...served(UpstreamUserService), ...served(UpstreamSessionService)]), UpstreamErrorDetail]);
    expect([...oursReached.keys()].sort()).toEqual([...upstreamReached.keys()].sort());
    for (const [typeName, ours] of oursReached) {
      expect(wireOfDesc(ours), typeName).toEqual(wireOfDesc(upstreamReached.get(typeName)!));
    }
  });

  it("exports each kept descriptor under upstream's name", () => {
    const exported = Object.entries(gen).filter(([name]) => name.endsWith("Schema"));
    expect(exported.length).toBeGreaterThan(50);
    for (const [name, desc] of exported) expect(name, (desc as Desc).typeName).toBe(`${(desc as Desc).typeName.split(".").filter((p) => /^[A-Z]/.test(p)).join("_")}Schema`);
    expect(gen.UserState.ACTIVE).toBe(1);
    expect(gen.NotificationType.Email).toBe(1);
  });

  it("drops every field annotation (the OpenAPI document reads them from @zitadel/proto at build time)", () => {
    const annotated = (f: DescField) => (f.proto.options?.$unknown ?? []).length > 0;
    const messages = [...reach([...methodRoots(gen.UserService.methods), ...methodRoots(gen.SessionService.methods)]).values()].filter((d): d is DescMessage => d.kind === "message");
    expect(messages.length).toBeGreaterThan(50);
    expect(messages.flatMap((m) => m.fields.filter(annotated).map((f) => `${m.typeName}.${f.name}`))).toEqual([]);
    // Upstream has them: what is dropped here is there for the document to read.
    expect(UpstreamUserService.method.getUserByID.input.fields[0]!.proto.options?.$unknown?.map((u) => u.no)).toContain(1071);
  });

  it("drops file options, the annotation files' imports and the unserved methods' messages", () => {
    const files = new Set(Object.values(gen).flatMap((v) => (typeof v === "object" && v !== null && "kind" in v && v.kind === "file" ? [v] : [])));
    for (const file of files) {
      expect(file.proto.options, file.name).toBeUndefined();
      expect(file.dependencies.map((d) => d.name).filter((n) => /openapiv2|validate|google\/api/.test(n)), file.name).toEqual([]);
    }
    expect(gen.UserService.methods.find((m) => m.name === "RegisterTOTP")).toBeUndefined();
    expect(committed).not.toContain("ListUsersRequestSchema");
  });
});

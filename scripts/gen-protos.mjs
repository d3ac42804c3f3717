// Writes src/faces/zitadel/protos.gen.ts: the ZITADEL services Latchkey serves, with only the
// methods it serves and the messages and enums those reach, taken from the installed
// @zitadel/proto. Importing @zitadel/proto's modules at run time would bundle whole files
// (user_service.proto alone describes ~90 messages) and their imports (openapiv2 and validate
// annotations, query and filter messages) for no request Latchkey answers.
//
// What is kept is what the wire needs: every field of every reached message (names, numbers,
// types, JSON names, oneofs, proto3 `optional`, `packed`, `jstype`), every value of every reached
// enum, map entries. Every annotation (field, message, service and method options, google.api,
// openapiv2, validate, zitadel's own, file options) is dropped, and so are reserved names and
// source info. The OpenAPI document, written at build time (scripts/gen-openapi.mjs), reads the
// field annotations it shows (openapiv2_field, validate.rules) from @zitadel/proto itself.
//
// Each trimmed file is embedded as its FileDescriptorProto in protobuf's JSON form (enum values as
// numbers) and loaded with fromJson + createFileRegistry: in the gzipped Worker that is about half
// the size of the base64 binary protoc-gen-es embeds (docs/benchmarks.md, issue 14's third pass).
//
// The generated module is typed with @zitadel/proto's own types (`import type`, erased at build
// time), so the faces keep the exact message shapes. test/zitadel/protos.test.ts fails when the
// file is out of date with the installed @zitadel/proto, or when a kept message differs from
// upstream in anything the wire sees.
//
//   node scripts/gen-protos.mjs           regenerate
//   node scripts/gen-protos.mjs --check   exit 1 when the file is out of date
//
// The pure part (generateProtos) also runs inside workerd for the test: no node: imports here.
import { clone, create, isFieldSet, toJson } from "@bufbuild/protobuf";
import {
  EnumOptionsSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  MessageOptionsSchema,
  MethodDescriptorProtoSchema,
  MethodOptionsSchema,
  ServiceDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import * as messagePb from "@zitadel/proto/zitadel/message_pb.js";
import * as sessionServicePb from "@zitadel/proto/zitadel/session/v2/session_service_pb.js";
import * as userServicePb from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";

/** The RPCs Latchkey serves (src/faces/zitadel/index.ts registers exactly these). */
export const SERVED = {
  "zitadel.user.v2.UserService": [
    "addHumanUser",
    "getUserByID",
    "passwordReset",
    "setPassword",
    "setEmail",
    "resendEmailCode",
    "verifyEmail",
    "setPhone",
    "resendPhoneCode",
    "verifyPhone",
    "removePhone",
    "deleteUser",
    "deactivateUser",
    "reactivateUser",
    "lockUser",
    "unlockUser",
  ],
  "zitadel.session.v2.SessionService": ["createSession", "setSession", "getSession", "deleteSession", "listSessions"],
};

const SERVICES = [userServicePb.UserService, sessionServicePb.SessionService];
/** Messages used outside a served method: the ErrorDetail every ZITADEL error carries. */
const EXTRA_ROOTS = [messagePb.ErrorDetailSchema];

/** The well-known types come from @bufbuild/protobuf/wkt, which the runtime needs anyway. */
const WKT = /^google\/protobuf\/(\w+)\.proto$/;

/** @zitadel/proto's module for a .proto file, as the faces would import it. */
const modulePath = (protoName) => `@zitadel/proto/${protoName.replace(/\.proto$/, "_pb.js")}`;
/** protoc-gen-es's name for a file's descriptor: file_zitadel_user_v2_user_service. */
const fileConst = (protoName) => `file_${protoName.replace(/\.proto$/, "").replace(/[^\w]/g, "_")}`;
/** The alias of a module's type-only namespace import: zitadel_user_v2_user_service_pb. */
const nsAlias = (protoName) => `${fileConst(protoName).slice("file_".length)}_pb`;

/**
 * The source of protos.gen.ts for the installed @zitadel/proto. `loadModule(path)` returns the
 * module namespace of one of @zitadel/proto's files (its exports name the descriptors).
 */
export async function generateProtos(loadModule = (path) => import(path)) {
  // 1. What the served methods reach.
  const reached = new Map(); // typeName → DescMessage | DescEnum
  const visit = (desc) => {
    if (reached.has(desc.typeName)) return;
    reached.set(desc.typeName, desc);
    if (desc.kind !== "message") return;
    for (const field of desc.fields) {
      if (field.message) visit(field.message);
      if (field.enum) visit(field.enum);
    }
  };
  const services = [];
  for (const service of SERVICES) {
    const served = SERVED[service.typeName];
    const methods = service.methods.filter((m) => served.includes(m.localName));
    const missing = served.filter((name) => !methods.some((m) => m.localName === name));
    if (missing.length) throw new Error(`${service.typeName} has no method ${missing.join(", ")} in the installed @zitadel/proto`);
    for (const m of methods) {
      visit(m.input);
      visit(m.output);
    }
    services.push({ service, methods });
  }
  for (const root of EXTRA_ROOTS) visit(root);

  // 2. The files they live in, each trimmed to what was reached, dependencies first.
  const files = new Map(); // proto name → DescFile
  for (const desc of reached.values()) files.set(desc.file.proto.name, desc.file);
  for (const { service } of services) files.set(service.file.proto.name, service.file);
  const ours = [...files.values()].filter((f) => !WKT.test(f.proto.name));
  const depsOf = new Map(ours.map((f) => [f.proto.name, dependenciesOf(f, reached, services)]));
  const ordered = topological(
    ours.map((f) => f.proto.name).sort(),
    (name) => depsOf.get(name).filter((d) => !WKT.test(d)),
  );

  // 3. The module.
  const lines = [];
  const emit = (s = "") => lines.push(s);
  emit("// @generated by scripts/gen-protos.mjs from the installed @zitadel/proto. Do not edit: run `node scripts/gen-protos.mjs`.");
  emit("// The ZITADEL services Latchkey serves, only their served methods, and the messages and enums");
  emit("// those reach; of their options only what the wire reads is kept.");
  emit("// Types are @zitadel/proto's own (type-only imports); no @zitadel/proto code is bundled.");
  emit("/* eslint-disable */");
  emit(`import { createFileRegistry, type DescMessage, type DescMethod, fromJson, type JsonValue } from "@bufbuild/protobuf";`);
  emit(`import { enumDesc, type GenFile, type GenService, messageDesc, serviceDesc, tsEnum } from "@bufbuild/protobuf/codegenv1";`);
  const wktImports = [...new Set(ordered.flatMap((name) => depsOf.get(name)).filter((d) => WKT.test(d)))].map(fileConst).sort();
  emit(`import { ${[...wktImports, "FileDescriptorProtoSchema"].join(", ")} } from "@bufbuild/protobuf/wkt";`);
  for (const name of ordered) emit(`import type * as ${nsAlias(name)} from "${modulePath(name)}";`);
  emit();
  emit("/**");
  emit(" * A file's descriptor from its FileDescriptorProto in the protobuf JSON form, which gzip packs");
  emit(" * about twice as tightly as the base64 binary protoc-gen-es embeds (the Worker's upload is gzip).");
  emit(" */");
  emit("function fileJson(json: JsonValue, deps: GenFile[]): GenFile {");
  emit("  const proto = fromJson(FileDescriptorProtoSchema, json);");
  emit("  proto.dependency = deps.map((f) => f.proto.name);");
  emit("  return createFileRegistry(proto, (name) => deps.find((f) => f.proto.name === name)).getFile(proto.name)!;");
  emit("}");
  emit();
  emit("/** A served subset of a generated service: the methods named, typed as upstream. */");
  emit("type Served<S extends { method: object }, K extends keyof S[\"method\"]> = GenService<{");
  emit("  [M in K]: S[\"method\"][M] extends { methodKind: infer Kind extends DescMethod[\"methodKind\"]; input: infer I extends DescMessage; output: infer O extends DescMessage }");
  emit("    ? { methodKind: Kind; input: I; output: O }");
  emit("    : never;");
  emit("}>;");

  const exported = new Set();
  const claim = (name) => {
    if (exported.has(name)) throw new Error(`two descriptors would be exported as ${name}`);
    exported.add(name);
  };
  for (const name of ordered) {
    const file = files.get(name);
    const mod = await loadModule(modulePath(name));
    const exportName = (desc) => {
      const found = Object.keys(mod).find((k) => mod[k] === desc && k.endsWith("Schema"));
      if (!found) throw new Error(`${modulePath(name)} exports no descriptor for ${desc.typeName}`);
      return found;
    };
    const trimmed = trimFile(file, reached, services);
    const ns = nsAlias(name);
    const constName = fileConst(name);
    claim(constName);
    emit();
    emit(`// ${name} (package ${file.proto.package})`);
    emit(`export const ${constName}: GenFile = /*@__PURE__*/ fileJson(${JSON.stringify(toJson(FileDescriptorProtoSchema, trimmed, { enumAsInteger: true }))}, [${depsOf.get(name).map(fileConst).join(", ")}]);`);
    const typeNames = [];
    for (const { desc, path } of walkKept(trimmed, reached)) {
      const schema = exportName(desc);
      claim(schema);
      const args = [constName, ...path].join(", ");
      if (desc.kind === "message") {
        typeNames.push(schema.replace(/Schema$/, ""));
        emit(`export const ${schema}: typeof ${ns}.${schema} = /*@__PURE__*/ messageDesc(${args});`);
      } else {
        const enumName = schema.replace(/Schema$/, "");
        claim(enumName);
        emit(`export const ${schema}: typeof ${ns}.${schema} = /*@__PURE__*/ enumDesc(${args});`);
        emit(`export const ${enumName}: typeof ${ns}.${enumName} = /*@__PURE__*/ tsEnum(${schema}) as typeof ${ns}.${enumName};`);
        emit(`export type ${enumName} = ${ns}.${enumName};`);
      }
    }
    if (typeNames.length) emit(`export type { ${typeNames.join(", ")} } from "${modulePath(name)}";`);
    for (const [i, { service, methods }] of services.filter((s) => s.service.file === file).entries()) {
      claim(service.name);
      const keys = methods.map((m) => JSON.stringify(m.localName)).join(" | ");
      emit(`export const ${service.name}: Served<typeof ${ns}.${service.name}, ${keys}> = /*@__PURE__*/ serviceDesc(${constName}, ${i});`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The files a trimmed file still imports: those declaring a type its kept fields or methods name. */
function dependenciesOf(file, reached, services) {
  const deps = new Set();
  const add = (desc) => {
    if (desc.file !== file) deps.add(desc.file.proto.name);
  };
  for (const desc of reached.values()) {
    if (desc.file !== file || desc.kind !== "message") continue;
    for (const field of desc.fields) {
      if (field.message) add(field.message);
      if (field.enum) add(field.enum);
    }
  }
  for (const { service, methods } of services) {
    if (service.file !== file) continue;
    for (const m of methods) {
      add(m.input);
      add(m.output);
    }
  }
  return [...deps].sort();
}

function topological(names, depsOf) {
  const out = [];
  const state = new Map();
  const visit = (name) => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") throw new Error(`import cycle at ${name}`);
    state.set(name, "visiting");
    for (const dep of depsOf(name)) visit(dep);
    state.set(name, "done");
    out.push(name);
  };
  names.forEach(visit);
  return out;
}

/** A copy of a file's FileDescriptorProto with only what was reached, and no documenting options. */
function trimFile(file, reached, services) {
  const proto = clone(FileDescriptorProtoSchema, file.proto);
  if (proto.syntax !== "proto3") throw new Error(`${proto.name}: only proto3 files are expected (${proto.syntax || "proto2"})`);
  const prefix = proto.package ? `${proto.package}.` : "";
  proto.options = undefined;
  proto.extension = [];
  proto.dependency = [];
  proto.publicDependency = [];
  proto.weakDependency = [];
  proto.sourceCodeInfo = undefined;
  proto.messageType = trimMessages(proto.messageType, prefix, reached);
  proto.enumType = trimEnums(proto.enumType, prefix, reached);
  proto.service = [];
  for (const { service, methods } of services) {
    if (service.file !== file) continue;
    const s = clone(ServiceDescriptorProtoSchema, service.proto);
    s.options = undefined;
    s.method = methods.map((m) => {
      const method = clone(MethodDescriptorProtoSchema, m.proto);
      const level = m.proto.options?.idempotencyLevel;
      method.options = level ? create(MethodOptionsSchema, { idempotencyLevel: level }) : undefined;
      return method;
    });
    proto.service.push(s);
  }
  return proto;
}

function trimMessages(messages, prefix, reached) {
  const kept = [];
  for (const m of messages) {
    const typeName = prefix + m.name;
    const isMapEntry = m.options?.mapEntry === true;
    if (!reached.has(typeName) && !isMapEntry) continue;
    if (m.options?.messageSetWireFormat) throw new Error(`${typeName}: message_set_wire_format is not expected`);
    m.options = isMapEntry ? create(MessageOptionsSchema, { mapEntry: true }) : undefined;
    m.reservedName = [];
    m.reservedRange = [];
    m.extension = [];
    m.extensionRange = [];
    for (const f of m.field) f.options = fieldOptions(f.options);
    for (const o of m.oneofDecl) o.options = undefined;
    m.nestedType = trimMessages(m.nestedType, `${typeName}.`, reached);
    m.enumType = trimEnums(m.enumType, `${typeName}.`, reached);
    kept.push(m);
  }
  return kept;
}

function trimEnums(enums, prefix, reached) {
  return enums
    .filter((e) => reached.has(prefix + e.name))
    .map((e) => {
      e.options = e.options?.allowAlias ? create(EnumOptionsSchema, { allowAlias: true }) : undefined;
      e.reservedName = [];
      e.reservedRange = [];
      for (const v of e.value) v.options = undefined;
      return e;
    });
}

/** The field options that change encoding or the JavaScript type; annotations are dropped. */
function fieldOptions(options) {
  if (!options) return undefined;
  const kept = {};
  for (const name of ["ctype", "packed", "jstype", "features"]) {
    if (isFieldSet(options, FieldOptionsSchema.field[name])) kept[name] = options[name];
  }
  if (!Object.keys(kept).length) return undefined;
  return create(FieldOptionsSchema, kept);
}

/** Every kept message and enum of a trimmed file with its path (indices into the trimmed proto), in file order. */
function* walkKept(trimmed, reached) {
  const prefix = trimmed.package ? `${trimmed.package}.` : "";
  function* messages(list, scope, path) {
    for (const [i, m] of list.entries()) {
      const typeName = scope + m.name;
      const desc = reached.get(typeName);
      if (desc) yield { desc, path: [...path, i] };
      yield* enums(m.enumType, `${typeName}.`, [...path, i]);
      yield* messages(m.nestedType, `${typeName}.`, [...path, i]);
    }
  }
  function* enums(list, scope, path) {
    for (const [i, e] of list.entries()) yield { desc: reached.get(scope + e.name), path: [...path, i] };
  }
  yield* messages(trimmed.messageType, prefix, []);
  yield* enums(trimmed.enumType, prefix, []);
}

// CLI: only when run as a script (the test imports generateProtos in workerd, without node:fs).
const argv1 = globalThis.process?.argv?.[1];
if (argv1 && import.meta.url.endsWith(argv1.replace(/\\/g, "/").replace(/^.*\/scripts\//, "/scripts/"))) {
  const { readFileSync, writeFileSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  const target = fileURLToPath(new URL("../src/faces/zitadel/protos.gen.ts", import.meta.url));
  const source = await generateProtos();
  const current = (() => {
    try {
      return readFileSync(target, "utf8");
    } catch {
      return "";
    }
  })();
  if (process.argv.includes("--check")) {
    if (current !== source) {
      console.error("src/faces/zitadel/protos.gen.ts is out of date with the installed @zitadel/proto: run node scripts/gen-protos.mjs");
      process.exit(1);
    }
  } else if (current !== source) {
    writeFileSync(target, source);
    console.log(`wrote src/faces/zitadel/protos.gen.ts (${source.length} characters)`);
  } else {
    console.log("src/faces/zitadel/protos.gen.ts is up to date");
  }
}

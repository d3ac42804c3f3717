// JSON Schema for protobuf messages as protojson writes and reads them, from the generated
// descriptors (@bufbuild/protobuf): the same descriptors that decode REST bodies (fromJson), so a
// documented field is a field the server reads. Field names are the lowerCamelCase JSON names
// (protojson also reads the proto names); 64-bit integers are decimal strings; enums are value
// names; well-known types take their JSON forms. The protos' own field annotations
// (protoc-gen-openapiv2's description, example and lengths; protoc-gen-validate's string lengths)
// are unknown option fields of a descriptor that keeps them (the trimmed descriptors the Worker
// carries do not: the caller says where a field's annotated twin is); they are read here with the
// wire reader.
import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { JsonSchema } from "./openapi";

const INT64 = { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
const UINT64 = { type: "string", format: "uint64", pattern: "^[0-9]+$" };

const SCALARS: Record<ScalarType, JsonSchema> = {
  [ScalarType.DOUBLE]: { type: "number", format: "double" },
  [ScalarType.FLOAT]: { type: "number", format: "float" },
  [ScalarType.INT64]: INT64,
  [ScalarType.SINT64]: INT64,
  [ScalarType.SFIXED64]: INT64,
  [ScalarType.UINT64]: UINT64,
  [ScalarType.FIXED64]: UINT64,
  [ScalarType.INT32]: { type: "integer", format: "int32" },
  [ScalarType.SINT32]: { type: "integer", format: "int32" },
  [ScalarType.SFIXED32]: { type: "integer", format: "int32" },
  [ScalarType.UINT32]: { type: "integer", format: "uint32", minimum: 0 },
  [ScalarType.FIXED32]: { type: "integer", format: "uint32", minimum: 0 },
  [ScalarType.BOOL]: { type: "boolean" },
  [ScalarType.STRING]: { type: "string" },
  [ScalarType.BYTES]: { type: "string", contentEncoding: "base64" },
};

// The well-known types' JSON forms (the protobuf JSON mapping).
const WELL_KNOWN: Record<string, JsonSchema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: "seconds with an s suffix, e.g. 3600s" },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array" },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] },
  "google.protobuf.DoubleValue": SCALARS[ScalarType.DOUBLE],
  "google.protobuf.FloatValue": SCALARS[ScalarType.FLOAT],
  "google.protobuf.Int64Value": INT64,
  "google.protobuf.UInt64Value": UINT64,
  "google.protobuf.Int32Value": SCALARS[ScalarType.INT32],
  "google.protobuf.UInt32Value": SCALARS[ScalarType.UINT32],
  "google.protobuf.BoolValue": SCALARS[ScalarType.BOOL],
  "google.protobuf.StringValue": SCALARS[ScalarType.STRING],
  "google.protobuf.BytesValue": SCALARS[ScalarType.BYTES],
};

// Extension numbers of the field annotations ZITADEL's protos carry.
const OPENAPIV2_FIELD = 1042; // grpc.gateway.protoc_gen_openapiv2.options.openapiv2_field (JSONSchema)
const VALIDATE_RULES = 1071; // validate.rules (protoc-gen-validate FieldRules)

/** What a field's annotations say, read from its options' unknown fields. */
function annotations(field: DescField | undefined): JsonSchema {
  const out: JsonSchema = {};
  for (const unknown of field?.proto.options?.$unknown ?? []) {
    if (unknown.wireType !== WireType.LengthDelimited) continue;
    try {
      if (unknown.no === OPENAPIV2_FIELD) readOpenApiField(new BinaryReader(unknown.data).bytes(), out);
      if (unknown.no === VALIDATE_RULES) readValidateRules(new BinaryReader(unknown.data).bytes(), out);
    } catch {
      // An annotation we cannot read only makes the document less detailed.
    }
  }
  return out;
}

function* fieldsOf(bytes: Uint8Array): Generator<{ no: number; reader: BinaryReader; wireType: WireType }> {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    yield { no, reader, wireType };
  }
}

function readOpenApiField(bytes: Uint8Array, out: JsonSchema): void {
  for (const { no, reader, wireType } of fieldsOf(bytes)) {
    if (no === 6 && wireType === WireType.LengthDelimited) out.description = reader.string();
    else if (no === 9 && wireType === WireType.LengthDelimited) {
      const example = reader.string();
      try {
        out.examples = [JSON.parse(example)];
      } catch {
        out.examples = [example];
      }
    } else if (no === 15 && wireType === WireType.Varint) out.maxLength = Number(reader.uint64());
    else if (no === 16 && wireType === WireType.Varint) out.minLength = Number(reader.uint64());
    else reader.skip(wireType, no);
  }
}

function readValidateRules(bytes: Uint8Array, out: JsonSchema): void {
  for (const { no, reader, wireType } of fieldsOf(bytes)) {
    // FieldRules.string (14) → StringRules: min_len 2, max_len 3 (in characters).
    if (no !== 14 || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType, no);
      continue;
    }
    for (const rule of fieldsOf(reader.bytes())) {
      if (rule.no === 2 && rule.wireType === WireType.Varint) out.minLength = Number(rule.reader.uint64());
      else if (rule.no === 3 && rule.wireType === WireType.Varint) out.maxLength = Number(rule.reader.uint64());
      else rule.reader.skip(rule.wireType, rule.no);
    }
  }
}

const enumSchema = (desc: DescEnum): JsonSchema => ({ type: "string", enum: desc.values.map((v) => v.name) });

/**
 * Schemas for messages, written once each into `schemas` (OpenAPI components), named by their
 * full type name; a message refers to the messages it holds by $ref, so recursion is fine.
 */
export class ProtoSchemas {
  readonly schemas: Record<string, JsonSchema> = {};

  /** `annotated(field)`: the same field in descriptors that keep its annotations (by default, itself). */
  constructor(private readonly annotated: (field: DescField) => DescField | undefined = (field) => field) {}

  /** A $ref to the message's schema (written on first use, with every message it reaches). */
  ref(message: DescMessage): JsonSchema {
    const known = WELL_KNOWN[message.typeName];
    if (known) return known;
    if (!(message.typeName in this.schemas)) {
      this.schemas[message.typeName] = {}; // placeholder: a message that holds itself meets a $ref
      this.schemas[message.typeName] = this.inline(message);
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  }

  /** The message's schema in place, less `omit` (fields a REST path or query carries instead). */
  inline(message: DescMessage, omit: readonly string[] = []): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    for (const field of message.fields) {
      if (omit.includes(field.jsonName) || omit.includes(field.name)) continue;
      const schema = { ...this.field(field), ...annotations(this.annotated(field)) };
      if (field.deprecated) schema.deprecated = true;
      properties[field.jsonName] = schema;
    }
    const oneofs = message.oneofs
      .map((o) => o.fields.filter((f) => f.jsonName in properties).map((f) => f.jsonName))
      .filter((names) => names.length > 1);
    return {
      type: "object",
      title: message.name,
      ...(oneofs.length > 0 ? { description: oneofs.map((names) => `At most one of ${names.join(", ")}.`).join(" ") } : {}),
      properties,
    };
  }

  private field(field: DescField): JsonSchema {
    switch (field.fieldKind) {
      case "scalar":
        return { ...SCALARS[field.scalar] };
      case "enum":
        return enumSchema(field.enum);
      case "message":
        return this.ref(field.message);
      case "list":
        return {
          type: "array",
          items: field.listKind === "scalar" ? SCALARS[field.scalar] : field.listKind === "enum" ? enumSchema(field.enum) : this.ref(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties: field.mapKind === "scalar" ? SCALARS[field.scalar] : field.mapKind === "enum" ? enumSchema(field.enum) : this.ref(field.message),
        };
    }
  }
}

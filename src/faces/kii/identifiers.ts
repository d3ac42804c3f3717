// Kii's user identifiers in paths: "EMAIL:addr", "PHONE:+intl", "LOGIN_NAME:name", a bare userID,
// or "me". Hono has already percent-decoded the segment; "+" is never turned into a space.
import { type UserRef, USER_ID } from "../../core/identity";
import { KiiError } from "./errors";

export function parseUserIdentifier(segment: string): UserRef {
  if (segment === "me") return { by: "me" };
  const colon = segment.indexOf(":");
  if (colon < 0) {
    if (!USER_ID.test(segment)) throw new KiiError("INVALID_INPUT_DATA", "The user identifier is not valid", { field: "userID" });
    return { by: "id", value: segment };
  }
  const kind = segment.slice(0, colon);
  const value = segment.slice(colon + 1);
  if (!value || value.length > 254) throw new KiiError("INVALID_INPUT_DATA", "The user identifier is not valid", { field: "userID" });
  if (kind === "EMAIL") return { by: "email", value };
  if (kind === "PHONE") return { by: "phone", value };
  if (kind === "LOGIN_NAME") return { by: "loginName", value };
  throw new KiiError("INVALID_INPUT_DATA", `Unknown identifier type ${kind}`, { field: "userID" });
}

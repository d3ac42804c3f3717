// The ZITADEL v2 User Service dialect: REST (/v2/users/...) and Connect + gRPC-web
// (/zitadel.user.v2.UserService/*). Filled in by the ZITADEL issue.
import { Hono } from "hono";
import type { AppEnv } from "../../http";

export const zitadelRest = new Hono<AppEnv>();
export const zitadelRpc = new Hono<AppEnv>();

// The hosted password-reset page (SPEC §6), reached from reset links. Filled in by the Kii password issue.
import { Hono } from "hono";
import type { AppEnv } from "../http";

export const resetPage = new Hono<AppEnv>();

// Everything a core operation needs, built once per request from the Worker's bindings.
import { type Env } from "../config/env";
import { readRuntimeConfig, type RuntimeConfig } from "../config/runtime";
import { Notifier } from "../delivery/notifier";
import { AppStore } from "../storage/apps";
import { ResetCodeStore } from "../storage/codes";
import { type Database, openDatabase } from "../storage/db";
import { SignInGuardStore } from "../storage/guards";
import { SessionStore } from "../storage/sessions";
import { Limits } from "../storage/limiter";
import { TokenStore } from "../storage/tokens";
import { UserStore } from "../storage/users";
import { VerificationStore } from "../storage/verification";
import type { EventOrigin } from "./events";
import { PasswordHasher } from "./passwords";

export interface Services {
  env: Env;
  config: RuntimeConfig;
  db: Database;
  apps: AppStore;
  users: UserStore;
  tokens: TokenStore;
  guards: SignInGuardStore;
  sessions: SessionStore;
  codes: ResetCodeStore;
  verifications: VerificationStore;
  limits: Limits;
  notifier: Notifier;
  hasher: PasswordHasher;
  now: () => number;
  /** Work to finish after the response (ctx.waitUntil). */
  defer: (work: Promise<unknown>) => void;
  /** Where the request came from, for security events (core/events.ts); the entry fills it in. */
  origin: EventOrigin;
}

export function createServices(env: Env, defer: (work: Promise<unknown>) => void = () => {}, origin: EventOrigin = { via: null, ip: null }): Services {
  const config = readRuntimeConfig(env);
  const db = openDatabase(env.DB);
  return {
    env,
    config,
    db,
    apps: new AppStore(db),
    users: new UserStore(db),
    tokens: new TokenStore(db),
    guards: new SignInGuardStore(db),
    sessions: new SessionStore(db),
    codes: new ResetCodeStore(db, env.CODES),
    verifications: new VerificationStore(db),
    limits: new Limits(env.LIMITER),
    notifier: new Notifier(env.DELIVERY, config.queueKey),
    hasher: new PasswordHasher({ pepper: config.pepper }),
    now: () => Date.now(),
    defer,
    origin,
  };
}

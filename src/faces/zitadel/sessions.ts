// zitadel.session.v2.SessionService, once for every protocol: CreateSession, SetSession,
// GetSession, DeleteSession and ListSessions with user and password checks. Other factors
// (WebAuthN, IdP intents, TOTP, OTP by SMS or email), challenges and metadata are out of scope and
// answered Unimplemented, before anything is checked or stored.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Duration, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type SessionSchema,
  type Checks,
  type CreateSessionRequest,
  CreateSessionResponseSchema,
  type DeleteSessionRequest,
  DeleteSessionResponseSchema,
  type GetSessionRequest,
  GetSessionResponseSchema,
  type ListSessionsRequest,
  ListSessionsResponseSchema,
  type SetSessionRequest,
  SetSessionResponseSchema,
} from "./protos.gen";
import type { App } from "../../core/apps";
import type { UserRef } from "../../core/identity";
import { createSession, deleteSession, getSession, listSessions, type SessionRow, type SessionView, setSession } from "../../core/sessions";
import { invalidArgument, unimplemented } from "./errors";
import { type Caller, guarded } from "./service";

const MAX_LIST = 100;

function text(value: string, field: string, max: number): string {
  if (value.length < 1 || [...value].length > max) throw invalidArgument(`${field} must be 1 to ${max} characters long`);
  return value;
}

/** The parts of a request Latchkey does not serve, refused with a clear Unimplemented. */
function refuseUnsupported(req: { checks?: Checks | undefined; metadata: Record<string, Uint8Array>; challenges?: unknown }) {
  const c = req.checks;
  const unsupported = c && (c.webAuthN || c.idpIntent || c.totp || c.otpSms || c.otpEmail);
  if (unsupported) throw unimplemented("Only user and password checks are supported by Latchkey (no WebAuthN, IdP intent, TOTP or OTP checks)");
  if (req.challenges) throw unimplemented("Challenges (WebAuthN, OTP) are not supported by Latchkey");
  if (Object.keys(req.metadata).length > 0) throw unimplemented("Session metadata is not supported by Latchkey");
}

function userRef(checks: Checks | undefined): UserRef | undefined {
  const search = checks?.user?.search;
  if (search?.case === "userId") return { by: "id", value: text(search.value, "checks.user.userId", 200) };
  if (search?.case === "loginName") return { by: "loginName", value: text(search.value, "checks.user.loginName", 200) };
  return undefined;
}

const password = (checks: Checks | undefined) => (checks?.password ? text(checks.password.password, "checks.password.password", 200) : undefined);

function lifetimeSeconds(lifetime: Duration | undefined): number | undefined {
  return lifetime ? Number(lifetime.seconds) + lifetime.nanos / 1e9 : undefined;
}

const details = (app: App, session: SessionRow) => ({
  sequence: BigInt(session.sequence),
  changeDate: timestampFromMs(session.changedAt),
  resourceOwner: app.orgId,
});

function sessionMessage(app: App, { session, user }: SessionView): MessageInitShape<typeof SessionSchema> {
  const loginName = user.loginName ?? user.email ?? user.phone ?? user.id;
  return {
    id: session.id,
    creationDate: timestampFromMs(session.createdAt),
    changeDate: timestampFromMs(session.changedAt),
    sequence: BigInt(session.sequence),
    factors: {
      user: {
        verifiedAt: timestampFromMs(session.userCheckedAt),
        id: user.id,
        loginName,
        displayName: user.displayName ?? ([user.givenName, user.familyName].filter(Boolean).join(" ") || loginName),
        organizationId: app.orgId,
      },
      ...(session.passwordCheckedAt !== null ? { password: { verifiedAt: timestampFromMs(session.passwordCheckedAt) } } : {}),
    },
    ...(session.expiresAt !== null ? { expirationDate: timestampFromMs(session.expiresAt) } : {}),
  };
}

export function createSessionRpc(req: CreateSessionRequest, caller: Caller) {
  return guarded("CreateSession", async () => {
    refuseUnsupported(req);
    const user = userRef(req.checks);
    if (!user) throw invalidArgument("checks.user (userId or loginName) is required: Latchkey sessions always name their user");
    const created = await createSession(caller.svc, caller.app, caller.principal, {
      user,
      password: password(req.checks),
      lifetimeSeconds: lifetimeSeconds(req.lifetime),
    });
    return create(CreateSessionResponseSchema, { details: details(caller.app, created.session), sessionId: created.session.id, sessionToken: created.token });
  });
}

export function setSessionRpc(req: SetSessionRequest, caller: Caller) {
  return guarded("SetSession", async () => {
    refuseUnsupported(req);
    const updated = await setSession(caller.svc, caller.app, caller.principal, {
      sessionId: text(req.sessionId, "sessionId", 200),
      sessionToken: text(req.sessionToken, "sessionToken", 200),
      user: userRef(req.checks),
      password: password(req.checks),
      lifetimeSeconds: lifetimeSeconds(req.lifetime),
    });
    return create(SetSessionResponseSchema, { details: details(caller.app, updated.session), sessionToken: updated.token });
  });
}

export function getSessionRpc(req: GetSessionRequest, caller: Caller) {
  return guarded("GetSession", async () => {
    const view = await getSession(caller.svc, caller.app, caller.principal, text(req.sessionId, "sessionId", 200), req.sessionToken);
    return create(GetSessionResponseSchema, { session: sessionMessage(caller.app, view) });
  });
}

export function deleteSessionRpc(req: DeleteSessionRequest, caller: Caller) {
  return guarded("DeleteSession", async () => {
    const session = await deleteSession(caller.svc, caller.app, caller.principal, text(req.sessionId, "sessionId", 200), req.sessionToken);
    return create(DeleteSessionResponseSchema, { details: { ...details(caller.app, session), changeDate: timestampFromMs(caller.svc.now()) } });
  });
}

export function listSessionsRpc(req: ListSessionsRequest, caller: Caller) {
  return guarded("ListSessions", async () => {
    const filter: { ids?: string[]; userId?: string } = {};
    for (const query of req.queries) {
      switch (query.query.case) {
        case "idsQuery": {
          const ids = query.query.value.ids;
          if (ids.length > MAX_LIST) throw invalidArgument(`idsQuery takes at most ${MAX_LIST} ids`);
          filter.ids = filter.ids ? filter.ids.filter((id) => ids.includes(id)) : [...ids];
          break;
        }
        case "userIdQuery":
          filter.userId = text(query.query.value.id, "userIdQuery.id", 200);
          break;
        default:
          throw unimplemented("ListSessions filters by idsQuery and userIdQuery only");
      }
    }
    const limit = Math.min(req.query?.limit || MAX_LIST, MAX_LIST);
    const views = await listSessions(caller.svc, caller.app, caller.principal, filter, limit);
    return create(ListSessionsResponseSchema, {
      details: { totalResult: BigInt(views.length), timestamp: timestampFromMs(caller.svc.now()) },
      sessions: views.map((v) => sessionMessage(caller.app, v)),
    });
  });
}

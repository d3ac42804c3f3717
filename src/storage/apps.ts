// Apps (tenants) in D1. Settings are stored as JSON and parsed on read, so a setting added
// later gets its default for apps created before it.
import { asc, eq, gt, sql } from "drizzle-orm";
import { type AppSettings, appSettingsSchema } from "../config/settings";
import type { Database } from "./db";
import { apps } from "./schema";

export interface App {
  id: string;
  appKey: string;
  clientId: string;
  clientSecretHash: string;
  orgId: string;
  name: string;
  settings: AppSettings;
  createdAt: number;
  changedAt: number;
  /** The key and secret hash before the last rotation, accepted until previousValidUntil. */
  previousAppKey?: string | null;
  previousClientSecretHash?: string | null;
  previousValidUntil?: number | null;
}

type AppRow = typeof apps.$inferSelect;

const toApp = (row: AppRow): App => ({ ...row, settings: appSettingsSchema.parse(row.settings) });

export class AppStore {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<App | null> {
    const row = await this.db.select().from(apps).where(eq(apps.id, id)).get();
    return row ? toApp(row) : null;
  }

  /** Up to `limit` apps in id order, after `after` when given (keyset paging: stable while apps come and go). */
  async list(after: string | null, limit: number): Promise<App[]> {
    const query = this.db.select().from(apps);
    const rows = await (after === null ? query : query.where(gt(apps.id, after))).orderBy(asc(apps.id)).limit(limit).all();
    return rows.map(toApp);
  }

  /** Inserts the app; false when its id is taken. */
  async insert(app: App): Promise<boolean> {
    const rows = await this.db.insert(apps).values(app).onConflictDoNothing().returning({ id: apps.id });
    return rows.length === 1;
  }

  /** Replaces the key and secret, keeping the old pair valid until `previousValidUntil`. */
  async rotateCredentials(id: string, next: { appKey: string; clientSecretHash: string }, previous: { appKey: string; clientSecretHash: string }, previousValidUntil: number, now: number): Promise<void> {
    await this.db
      .update(apps)
      .set({ ...next, previousAppKey: previous.appKey, previousClientSecretHash: previous.clientSecretHash, previousValidUntil, changedAt: now })
      .where(eq(apps.id, id));
  }

  async updateSettings(id: string, settings: AppSettings, now: number): Promise<void> {
    await this.db.update(apps).set({ settings, changedAt: now }).where(eq(apps.id, id));
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.db.delete(apps).where(eq(apps.id, id)).returning({ id: apps.id });
    return rows.length === 1;
  }

  /** Whether the app (or, with no app named, any app) lists this origin in settings.corsOrigins. */
  async listsOrigin(origin: string, appId: string | null): Promise<boolean> {
    const rows = await this.db.all(
      appId
        ? sql`SELECT 1 FROM apps, json_each(apps.settings, '$.corsOrigins') AS o WHERE apps.id = ${appId} AND o.value = ${origin} LIMIT 1`
        : sql`SELECT 1 FROM apps, json_each(apps.settings, '$.corsOrigins') AS o WHERE o.value = ${origin} LIMIT 1`,
    );
    return rows.length > 0;
  }
}

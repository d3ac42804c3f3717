// Apps (tenants) in the control database. Settings are stored as JSON and parsed on read, so a
// setting added later gets its default for apps created before it. Each row also names the shard
// that holds the app's users (storage/shards.ts) and the routing version that a move bumps.
//
// Reads that serve requests go through `reader`, a D1 session that a nearby read replica may
// answer (D1 Sessions API, "first-unconstrained"); the operator's reads and every write go to the
// primary (`primary`), so an admin sees what they just wrote.
import { type AppSettings, appSettingsSchema } from "../config/settings";
import { cachedApp, forgetApp, remember } from "./app-cache";
import { type Database, raw, sql } from "./db";
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
  /** The user-data shard (binding USERS_{shard}) that holds the app's users. */
  shard: number;
  /** Bumped by every move: which routing a reader saw. */
  routingVersion: number;
  /** The target shard while a move copies the app's rows (its writes are refused meanwhile). */
  movingTo: number | null;
  movingSince: number | null;
}

const toApp = (r: Record<string, unknown>): App => {
  const row = apps.row(r);
  return { ...row, settings: appSettingsSchema.parse(row.settings) };
};

const select = sql`SELECT ${apps.all} FROM apps`;

export class AppStore {
  /** Reads made in this request, by id: a request that names its app twice asks the database once. */
  private readonly seen = new Map<string, Promise<App | null>>();

  constructor(
    private readonly primary: Database,
    private readonly reader: Database = primary,
  ) {}

  /**
   * The app as this isolate or a nearby replica knows it: it may trail the primary by the
   * isolate cache's lifetime plus the replica's lag (storage/app-cache.ts).
   */
  get(id: string): Promise<App | null> {
    let found = this.seen.get(id);
    if (!found) this.seen.set(id, (found = cachedApp(id, () => this.read(this.reader, id))));
    return found;
  }

  /** The app as the primary knows it: for the operator, and to settle a routing a replica may have missed. */
  async getPrimary(id: string): Promise<App | null> {
    const app = remember(id, this.read(this.primary, id));
    this.seen.set(id, app);
    return app;
  }

  /** Forgets what this request and this isolate read of the app, before a write to it. */
  private forget(id: string): void {
    this.seen.delete(id);
    forgetApp(id);
  }

  /**
   * A write to the app's row. What was read of it is forgotten before, and again after: a read
   * that began meanwhile may have cached the row as it was.
   */
  private async write<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.forget(id);
    try {
      return await work();
    } finally {
      this.forget(id);
    }
  }

  private read(db: Database, id: string): Promise<App | null> {
    return db.first(sql`${select} WHERE id = ${id}`, toApp);
  }

  /** Up to `limit` apps in id order, after `after` when given (keyset paging: stable while apps come and go). */
  async list(after: string | null, limit: number): Promise<App[]> {
    return this.primary.rows(sql`${select}${after === null ? raw("") : sql` WHERE id > ${after}`} ORDER BY id LIMIT ${limit}`, toApp);
  }

  /** How many apps each shard holds (shards without apps are absent). */
  async appsPerShard(): Promise<Map<number, number>> {
    const rows = await this.primary.rows<{ shard: number; n: number }>(sql`SELECT shard, count(*) AS n FROM apps GROUP BY shard`);
    return new Map(rows.map((r) => [r.shard, r.n]));
  }

  /** Inserts the app; false when its id is taken. */
  async insert(app: App): Promise<boolean> {
    const rows = await this.write(app.id, async () => this.primary.rows(sql`${apps.insert([app])} ON CONFLICT DO NOTHING RETURNING id`));
    return rows.length === 1;
  }

  /** Replaces the key and secret, keeping the old pair valid until `previousValidUntil`. */
  async rotateCredentials(id: string, next: { appKey: string; clientSecretHash: string }, previous: { appKey: string; clientSecretHash: string }, previousValidUntil: number, now: number): Promise<void> {
    await this.write(id, async () =>
      this.primary.statement(
        sql`UPDATE apps SET app_key = ${next.appKey}, client_secret_hash = ${next.clientSecretHash}, previous_app_key = ${previous.appKey},
          previous_client_secret_hash = ${previous.clientSecretHash}, previous_valid_until = ${previousValidUntil}, changed_at = ${now} WHERE id = ${id}`,
      ),
    );
  }

  async updateSettings(id: string, settings: AppSettings, now: number): Promise<void> {
    await this.write(id, async () => this.primary.statement(sql`UPDATE apps SET settings = ${JSON.stringify(settings)}, changed_at = ${now} WHERE id = ${id}`));
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.write(id, async () => this.primary.rows(sql`DELETE FROM apps WHERE id = ${id} RETURNING id`));
    return rows.length === 1;
  }

  /** Marks a move from `from` to `to` as begun; false when the app moved or began moving meanwhile. */
  async beginMove(id: string, from: number, to: number, routingVersion: number, now: number): Promise<boolean> {
    const rows = await this.write(id, async () =>
      this.primary.rows(
        sql`UPDATE apps SET moving_to = ${to}, moving_since = ${now}
          WHERE id = ${id} AND shard = ${from} AND routing_version = ${routingVersion} AND (moving_to IS NULL OR moving_to = ${to}) RETURNING id`,
      ),
    );
    return rows.length === 1;
  }

  /** The switch: the app now lives in `to`, with the next routing version. Returns that version, or null if the move was cancelled. */
  async finishMove(id: string, to: number, routingVersion: number): Promise<number | null> {
    const rows = await this.write(id, async () =>
      this.primary.rows<{ routingVersion: number }>(
        sql`UPDATE apps SET shard = ${to}, routing_version = ${routingVersion + 1}, moving_to = NULL, moving_since = NULL
          WHERE id = ${id} AND moving_to = ${to} AND routing_version = ${routingVersion} RETURNING routing_version AS "routingVersion"`,
      ),
    );
    return rows[0]?.routingVersion ?? null;
  }

  /** Ends a move that did not finish: the app stays where it is. */
  async cancelMove(id: string): Promise<void> {
    await this.write(id, async () => this.primary.statement(sql`UPDATE apps SET moving_to = NULL, moving_since = NULL WHERE id = ${id}`));
  }

  /**
   * Whether the app (or, with no app named, any app) lists this origin in settings.corsOrigins.
   * An app named is read like any request's app (cached); with none, the control database is asked.
   */
  async listsOrigin(origin: string, appId: string | null): Promise<boolean> {
    if (appId) return (await this.get(appId))?.settings.corsOrigins.includes(origin) ?? false;
    const rows = await this.reader.rows(sql`SELECT 1 FROM apps, json_each(apps.settings, '$.corsOrigins') AS o WHERE o.value = ${origin} LIMIT 1`);
    return rows.length > 0;
  }
}

/**
 * SqliteFeedStore: the `FeedStore` contract on a `Database` (SQLite in its own thread).
 *
 * Every change is one `Database` write, so one `BEGIN IMMEDIATE` transaction: a crash
 * leaves it applied whole or not at all, and an abort error means nothing changed.
 *
 * `replaceItems`/`saveItems` read the feed's items, work out the difference here, then
 * write only that difference in one transaction. The read and the write are two calls,
 * so another writer could change the feed's items in between: the transaction's first
 * statement moves the feed's `items_version` from the value read to the next one, and a
 * trigger refuses any other move, so a stale difference rolls back whole and is worked
 * out again. In this process the item writes also take turns on a lock, so they never
 * collide with each other; the check is for other processes and for marks set meanwhile.
 */
import { throwIfAborted } from '../abort.js';
import { ClosedError, DuplicateFeedError, NotFoundError, StoreError } from '../errors.js';
import type { StopContext } from '../lifecycle/lifecycle.js';
import { Database } from '../store/database.js';
import type { CallOptions } from '../store/options.js';
import type { Migration, Row, SqlValue, Statement } from '../store/protocol.js';
import { Mutex } from '../sync/mutex.js';
import { options as checkOptions } from '../validate.js';
import {
  clockOf,
  embeddingOut,
  embeddingQuery,
  embeddings as checkEmbeddings,
  encodeCursor,
  feedInput,
  feedPatch,
  flag,
  id,
  ids,
  itemFilter,
  itemChanges,
  itemQuery,
  itemRecords,
  newFeed,
  signalOf,
  sortTimeOf,
  stopContext,
  type Embedding,
  type EmbeddingQuery,
  type Feed,
  type FeedId,
  type FeedInput,
  type FeedPatch,
  type FeedStore,
  type FeedStoreOptions,
  type Item,
  type ItemChanges,
  type ItemFilter,
  type ItemId,
  type ItemInput,
  type ItemPage,
  type ItemQuery,
  type ItemRecord,
  type NormalizedFilter,
  type NormalizedPatch,
} from './feed-store.js';

/** Options of {@link SqliteFeedStore.open}. */
export interface SqliteFeedStoreOptions extends FeedStoreOptions {
  /** Cancels the open. Required. */
  readonly signal: AbortSignal;
  /** SQLite's `synchronous`, as in `Database.open`. @default 'normal' */
  readonly synchronous?: 'normal' | 'full' | undefined;
  /** As in `Database.open`. @default 5000 */
  readonly busyTimeoutMs?: number | undefined;
  /** As in `Database.open`: `'exclusive'` for one owning process. @default 'shared' */
  readonly mode?: 'shared' | 'exclusive' | undefined;
  /** As in `Database.open` (with `mode: 'exclusive'`). @default 10000 */
  readonly lockStaleMs?: number | undefined;
}

const STALE = 'workbus feed store: the feed items changed meanwhile';

/**
 * The schema. `AUTOINCREMENT` so ids are never reused (a removed item's id never names
 * another item, and `MemoryFeedStore` can hand out the same ids). Items are listed by
 * `(sort_time, id)` descending, with or without a feed; `sort_time` is the published
 * time, or `added_at` for an item without one.
 */
const FEED_STORE_MIGRATIONS: readonly Migration[] = Object.freeze([
  Object.freeze({
    version: 1,
    up: `
CREATE TABLE feed (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL UNIQUE,
  title TEXT,
  site_url TEXT,
  etag TEXT,
  last_modified TEXT,
  last_fetched_at INTEGER,
  next_fetch_at INTEGER,
  status TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  added_at INTEGER NOT NULL,
  items_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE item (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  feed_id INTEGER NOT NULL REFERENCES feed (id) ON DELETE CASCADE,
  guid TEXT NOT NULL,
  link TEXT,
  title TEXT,
  summary TEXT,
  content TEXT,
  author TEXT,
  published INTEGER,
  content_hash TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  sort_time INTEGER NOT NULL,
  is_read INTEGER NOT NULL DEFAULT 0,
  is_saved INTEGER NOT NULL DEFAULT 0,
  UNIQUE (feed_id, guid)
);
CREATE INDEX item_list ON item (sort_time DESC, id DESC);
CREATE INDEX item_feed_list ON item (feed_id, sort_time DESC, id DESC);
CREATE TABLE embedding (
  item_id INTEGER NOT NULL REFERENCES item (id) ON DELETE CASCADE,
  model TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (item_id, model)
) WITHOUT ROWID;
CREATE INDEX embedding_model ON embedding (model, item_id);
CREATE TRIGGER feed_items_version BEFORE UPDATE OF items_version ON feed
  WHEN NEW.items_version IS NOT OLD.items_version + 1
  BEGIN SELECT RAISE(ABORT, '${STALE}'); END;
CREATE TRIGGER item_marks AFTER UPDATE OF is_read, is_saved ON item
  BEGIN UPDATE feed SET items_version = items_version + 1 WHERE id = NEW.feed_id; END;
`,
  }),
]);

const FEED_COLUMNS =
  'id, url, title, site_url, etag, last_modified, last_fetched_at, next_fetch_at, status, consecutive_failures, last_error, added_at';
const ITEM_COLUMNS =
  'id, feed_id, guid, link, title, summary, content, author, published, content_hash, added_at, is_read, is_saved';

/** Feed fields and their columns, for `updateFeed`. */
const PATCH_COLUMNS: Readonly<Record<keyof NormalizedPatch, string>> = {
  url: 'url',
  title: 'title',
  siteUrl: 'site_url',
  etag: 'etag',
  lastModified: 'last_modified',
  lastFetchedAt: 'last_fetched_at',
  nextFetchAt: 'next_fetch_at',
  status: 'status',
  consecutiveFailures: 'consecutive_failures',
  lastError: 'last_error',
};

const INSERT_ITEM = `INSERT INTO item (feed_id, guid, link, title, summary, content, author, published, content_hash, added_at, sort_time)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const UPDATE_ITEM = `UPDATE item SET link = ?, title = ?, summary = ?, content = ?, author = ?, published = ?, content_hash = ?, sort_time = ?
WHERE id = ?`;
/** A list of ids crosses as one JSON parameter, whatever its length. */
const IN_IDS = 'IN (SELECT value FROM json_each(?))';

export class SqliteFeedStore implements FeedStore {
  readonly #db: Database;
  readonly #now: () => number;
  /** Item writes of this process take turns, so they never find each other's changes stale. */
  readonly #itemWrites = new Mutex({ name: 'workbus.feed-store.items' });
  #stopping = false;

  private constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /**
   * Opens (creating if needed) the store's SQLite file and brings its schema up to date.
   * Waits for the database thread to start and the migrations to run.
   *
   * @throws TypeError for a missing signal or bad options; the errors of `Database.open`
   *   (`StoreCorruptError`, `StoreSchemaError`, `StoreLockedError`, `StoreBusyError`, `StoreError`).
   * @example
   * ```ts
   * const store = await SqliteFeedStore.open(file, { signal });
   * const feed = await store.addFeed({ url: 'https://example.org/feed.xml' }, { signal });
   * const first = await store.replaceItems(
   *   feed.id,
   *   [
   *     { guid: 'a', title: 'First', published: Date.UTC(2026, 0, 1) },
   *     { guid: 'b', title: 'Second', published: Date.UTC(2026, 0, 2) },
   *   ],
   *   { signal },
   * );
   * const again = await store.replaceItems(
   *   feed.id,
   *   [
   *     { guid: 'a', title: 'First', published: Date.UTC(2026, 0, 1) },
   *     { guid: 'b', title: 'Second (edited)', published: Date.UTC(2026, 0, 2) },
   *     { guid: 'c', title: 'Third', published: Date.UTC(2026, 0, 3) },
   *   ],
   *   { signal },
   * );
   * const page = await store.listItems({ unread: true, limit: 2 }, { signal });
   * await store.stop({ signal, deadline: Date.now() + 5000 });
   * ```
   */
  static async open(path: string, options: SqliteFeedStoreOptions): Promise<SqliteFeedStore> {
    const given = checkOptions('SqliteFeedStore.open options', options, [
      'signal',
      'now',
      'synchronous',
      'busyTimeoutMs',
      'mode',
      'lockStaleMs',
    ]);
    const now = clockOf('SqliteFeedStore.open options.now', given['now']);
    const db = await Database.open(path, {
      signal: options.signal,
      synchronous: options.synchronous,
      busyTimeoutMs: options.busyTimeoutMs,
      mode: options.mode,
      lockStaleMs: options.lockStaleMs,
      migrations: FEED_STORE_MIGRATIONS,
    });
    return new SqliteFeedStore(db, now);
  }

  /**
   * The store's `Database`, to share its file with other tables of the app: a
   * `FailureTracker` opened on it keeps the feeds' failures beside the feeds. The store
   * owns it: its `stop()` closes it.
   */
  get database(): Database {
    return this.#db;
  }

  /** Checks the call's signal and the store's state, in the order `MemoryFeedStore` does. */
  async #call<T>(
    method: string,
    options: CallOptions,
    body: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const signal = signalOf(method, options);
    if (this.#stopping) throw new ClosedError('The feed store was stopped');
    throwIfAborted(signal);
    return body(signal);
  }

  addFeed(input: FeedInput, options: CallOptions): Promise<Feed> {
    return this.#call('addFeed', options, async (signal) => {
      const { url, title, siteUrl } = feedInput(input);
      const addedAt = this.#now();
      try {
        const result = await this.#db.run(
          'INSERT INTO feed (url, title, site_url, added_at) VALUES (?, ?, ?, ?)',
          [url, title, siteUrl, addedAt],
          { signal },
        );
        return newFeed(Number(result.lastInsertRowid), { url, title, siteUrl }, addedAt);
      } catch (error) {
        throw constraint(error) === 'SQLITE_CONSTRAINT_UNIQUE'
          ? new DuplicateFeedError(url, { cause: error })
          : error;
      }
    });
  }

  getFeed(feedId: FeedId, options: CallOptions): Promise<Feed | undefined> {
    return this.#call('getFeed', options, async (signal) => {
      const key = id('getFeed feedId', feedId);
      return this.#feed(key, signal);
    });
  }

  async #feed(feedId: FeedId, signal: AbortSignal): Promise<Feed | undefined> {
    const row = await this.#db.get(`SELECT ${FEED_COLUMNS} FROM feed WHERE id = ?`, [feedId], {
      signal,
    });
    return row === undefined ? undefined : feedOf(row);
  }

  getFeedByUrl(url: string, options: CallOptions): Promise<Feed | undefined> {
    return this.#call('getFeedByUrl', options, async (signal) => {
      if (typeof url !== 'string' || url.length === 0) {
        throw new TypeError(`getFeedByUrl url must be a non-empty string, got ${typeof url}`);
      }
      const row = await this.#db.get(`SELECT ${FEED_COLUMNS} FROM feed WHERE url = ?`, [url], {
        signal,
      });
      return row === undefined ? undefined : feedOf(row);
    });
  }

  listFeeds(options: CallOptions): Promise<readonly Feed[]> {
    return this.#call('listFeeds', options, async (signal) => {
      const rows = await this.#db.all(`SELECT ${FEED_COLUMNS} FROM feed ORDER BY id`, [], {
        signal,
      });
      return Object.freeze(rows.map(feedOf));
    });
  }

  updateFeed(feedId: FeedId, patch: FeedPatch, options: CallOptions): Promise<Feed> {
    return this.#call('updateFeed', options, async (signal) => {
      const key = id('updateFeed feedId', feedId);
      const changes = feedPatch(patch);
      const fields = Object.keys(changes) as (keyof NormalizedPatch)[];
      if (fields.length > 0) {
        const set = fields.map((field) => `${PATCH_COLUMNS[field]} = ?`).join(', ');
        const values = fields.map((field) => changes[field] as SqlValue);
        try {
          const { changes: found } = await this.#db.run(
            `UPDATE feed SET ${set} WHERE id = ?`,
            [...values, key],
            { signal },
          );
          if (found === 0) throw new NotFoundError('feed', key);
        } catch (error) {
          throw constraint(error) === 'SQLITE_CONSTRAINT_UNIQUE' && changes.url !== undefined
            ? new DuplicateFeedError(changes.url, { cause: error })
            : error;
        }
      }
      // Read back after the write: removed in between, it is not there to return.
      const feed = await this.#feed(key, signal);
      if (feed === undefined) throw new NotFoundError('feed', key);
      return feed;
    });
  }

  removeFeed(feedId: FeedId, options: CallOptions): Promise<boolean> {
    return this.#call('removeFeed', options, async (signal) => {
      const key = id('removeFeed feedId', feedId);
      // Its items and their embeddings go with it (ON DELETE CASCADE), in the same transaction.
      const { changes } = await this.#db.run('DELETE FROM feed WHERE id = ?', [key], { signal });
      return changes > 0;
    });
  }

  replaceItems(
    feedId: FeedId,
    items: readonly ItemInput[],
    options: CallOptions,
  ): Promise<ItemChanges> {
    return this.#call('replaceItems', options, (signal) =>
      this.#writeItems('replaceItems', feedId, items, true, signal),
    );
  }

  saveItems(
    feedId: FeedId,
    items: readonly ItemInput[],
    options: CallOptions,
  ): Promise<ItemChanges> {
    return this.#call('saveItems', options, (signal) =>
      this.#writeItems('saveItems', feedId, items, false, signal),
    );
  }

  async #writeItems(
    method: string,
    feedId: unknown,
    input: unknown,
    removeGone: boolean,
    signal: AbortSignal,
  ): Promise<ItemChanges> {
    const key = id(`${method} feedId`, feedId);
    const records = itemRecords(method, input);
    return this.#itemWrites.run(
      async () => {
        // A stale difference (another process wrote, or a mark was set meanwhile) rolls
        // back whole; the next round reads again. Each round either commits or finds that
        // someone else committed, so the rounds end.
        for (;;) {
          const plan = await this.#plan(key, records, removeGone, signal);
          try {
            const results = await this.#db.transaction(plan.statements, { signal });
            // No feed row moved: it was removed after the read, and since its items went
            // with it, the other statements found nothing to change either.
            if (results[0]?.changes !== 1) throw new NotFoundError('feed', key);
            return plan.changes(
              results.slice(plan.firstInsert).map((r) => Number(r.lastInsertRowid)),
            );
          } catch (error) {
            const code = constraint(error);
            if (code === 'SQLITE_CONSTRAINT_TRIGGER' && isStale(error)) continue;
            if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
              throw new NotFoundError('feed', key, { cause: error });
            }
            throw error;
          }
        }
      },
      { signal },
    );
  }

  /** Reads the feed's items and works out the statements of the difference. */
  async #plan(
    feedId: FeedId,
    records: readonly ItemRecord[],
    removeGone: boolean,
    signal: AbortSignal,
  ): Promise<{
    readonly statements: readonly Statement[];
    readonly firstInsert: number;
    readonly changes: (insertedIds: readonly number[]) => ItemChanges;
  }> {
    const rows = await this.#db.all(
      `SELECT f.items_version AS version, i.id, i.guid, i.content_hash, i.added_at, i.is_read, i.is_saved
       FROM feed f LEFT JOIN item i ON i.feed_id = f.id WHERE f.id = ?`,
      [feedId],
      { signal },
    );
    const first = rows[0];
    if (first === undefined) throw new NotFoundError('feed', feedId);
    const existing = new Map<string, Row>();
    for (const row of rows) if (row['id'] !== null) existing.set(String(row['guid']), row);
    const statements: Statement[] = [
      {
        sql: 'UPDATE feed SET items_version = ? WHERE id = ?',
        params: [Number(first['version']) + 1, feedId],
      },
    ];
    const updated: Item[] = [];
    const toAdd: ItemRecord[] = [];
    let unchanged = 0;
    for (const record of records) {
      const old = existing.get(record.guid);
      existing.delete(record.guid);
      if (old === undefined) {
        toAdd.push(record);
      } else if (old['content_hash'] !== record.contentHash) {
        const item = itemOf(record, {
          id: Number(old['id']),
          feedId,
          addedAt: Number(old['added_at']),
          read: old['is_read'] === 1,
          saved: old['is_saved'] === 1,
        });
        updated.push(item);
        statements.push({
          sql: UPDATE_ITEM,
          params: [
            item.link,
            item.title,
            item.summary,
            item.content,
            item.author,
            item.published,
            item.contentHash,
            sortTimeOf(item),
            item.id,
          ],
        });
      } else {
        unchanged++;
      }
    }
    if (updated.length > 0) {
      // The old content's embeddings no longer describe the item.
      statements.push({
        sql: `DELETE FROM embedding WHERE item_id ${IN_IDS}`,
        params: [JSON.stringify(updated.map((item) => item.id))],
      });
    }
    const removedIds = removeGone
      ? [...existing.values()].map((row) => Number(row['id'])).sort((a, b) => a - b)
      : [];
    if (removedIds.length > 0) {
      statements.push({
        sql: `DELETE FROM item WHERE id ${IN_IDS}`,
        params: [JSON.stringify(removedIds)],
      });
    }
    const firstInsert = statements.length;
    const addedAt = this.#now();
    for (const record of toAdd) {
      const sortTime = record.published ?? addedAt;
      statements.push({
        sql: INSERT_ITEM,
        params: [
          feedId,
          record.guid,
          record.link,
          record.title,
          record.summary,
          record.content,
          record.author,
          record.published,
          record.contentHash,
          addedAt,
          sortTime,
        ],
      });
    }
    return {
      statements,
      firstInsert,
      changes: (insertedIds) => {
        const addedItems = toAdd.map((record, index) =>
          itemOf(record, {
            id: insertedIds[index] as number,
            feedId,
            addedAt,
            read: false,
            saved: false,
          }),
        );
        return itemChanges(addedItems, updated, removedIds, unchanged);
      },
    };
  }

  getItem(itemId: ItemId, options: CallOptions): Promise<Item | undefined> {
    return this.#call('getItem', options, async (signal) => {
      const key = id('getItem itemId', itemId);
      const row = await this.#db.get(`SELECT ${ITEM_COLUMNS} FROM item WHERE id = ?`, [key], {
        signal,
      });
      return row === undefined ? undefined : itemOfRow(row);
    });
  }

  listItems(query: ItemQuery, options: CallOptions): Promise<ItemPage> {
    return this.#call('listItems', options, async (signal) => {
      const { limit, after, ...filter } = itemQuery(query);
      const { where, params } = whereOf(filter);
      if (after !== undefined) {
        where.push('(sort_time, id) < (?, ?)');
        params.push(after.sortTime, after.id);
      }
      // One more than the page: whether there is a next page, without a second query.
      const rows = await this.#db.all(
        `SELECT ${ITEM_COLUMNS}, sort_time FROM item ${clause(where)} ORDER BY sort_time DESC, id DESC LIMIT ?`,
        [...params, limit + 1],
        { signal },
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return Object.freeze({
        items: Object.freeze(page.map(itemOfRow)),
        nextCursor:
          rows.length > limit && last !== undefined
            ? encodeCursor({ sortTime: Number(last['sort_time']), id: Number(last['id']) })
            : null,
      });
    });
  }

  countItems(filter: ItemFilter, options: CallOptions): Promise<number> {
    return this.#call('countItems', options, async (signal) => {
      const { where, params } = whereOf(itemFilter(filter));
      const row = await this.#db.get(`SELECT count(*) AS n FROM item ${clause(where)}`, params, {
        signal,
      });
      return Number(row?.['n']);
    });
  }

  setRead(itemIds: readonly ItemId[], read: boolean, options: CallOptions): Promise<number> {
    return this.#call('setRead', options, (signal) =>
      this.#mark('is_read', ids('setRead itemIds', itemIds), flag('setRead read', read), signal),
    );
  }

  setSaved(itemIds: readonly ItemId[], saved: boolean, options: CallOptions): Promise<number> {
    return this.#call('setSaved', options, (signal) =>
      this.#mark(
        'is_saved',
        ids('setSaved itemIds', itemIds),
        flag('setSaved saved', saved),
        signal,
      ),
    );
  }

  async #mark(
    column: 'is_read' | 'is_saved',
    itemIds: readonly ItemId[],
    value: boolean,
    signal: AbortSignal,
  ): Promise<number> {
    const flagValue = value ? 1 : 0;
    const { changes } = await this.#db.run(
      `UPDATE item SET ${column} = ? WHERE ${column} IS NOT ? AND id ${IN_IDS}`,
      [flagValue, flagValue, JSON.stringify(itemIds)],
      { signal },
    );
    return changes;
  }

  saveEmbeddings(embeddings: readonly Embedding[], options: CallOptions): Promise<void> {
    return this.#call('saveEmbeddings', options, async (signal) => {
      const entries = checkEmbeddings(embeddings);
      if (entries.length === 0) return;
      const rows = entries.map(({ itemId, model, vector }) => [
        itemId,
        model,
        new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength),
      ]);
      try {
        await this.#db.batch(
          `INSERT INTO embedding (item_id, model, vector) VALUES (?, ?, ?)
           ON CONFLICT (item_id, model) DO UPDATE SET vector = excluded.vector`,
          rows,
          { signal },
        );
      } catch (error) {
        if (constraint(error) !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw error;
        // Which item is missing, for the error: the first one given, as MemoryFeedStore says.
        const missing = await this.#db.get(
          'SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM item) ORDER BY key LIMIT 1',
          [JSON.stringify(entries.map((entry) => entry.itemId))],
          { signal },
        );
        throw missing === undefined
          ? error
          : new NotFoundError('item', Number(missing['value']), { cause: error });
      }
    });
  }

  getEmbeddings(query: EmbeddingQuery, options: CallOptions): Promise<readonly Embedding[]> {
    return this.#call('getEmbeddings', options, async (signal) => {
      const { model, itemIds } = embeddingQuery(query);
      const rows =
        itemIds === undefined
          ? await this.#db.all(
              'SELECT item_id, vector FROM embedding WHERE model = ? ORDER BY item_id',
              [model],
              { signal },
            )
          : await this.#db.all(
              `SELECT item_id, vector FROM embedding WHERE model = ? AND item_id ${IN_IDS} ORDER BY item_id`,
              [model, JSON.stringify(itemIds)],
              { signal },
            );
      return Object.freeze(
        rows.map((row) => {
          const blob = row['vector'] as Uint8Array;
          // A copy of the bytes: a Float32Array needs its own 4-byte-aligned buffer.
          const vector = new Float32Array(blob.slice().buffer);
          return embeddingOut(Number(row['item_id']), model, vector);
        }),
      );
    });
  }

  /**
   * Stops the store (a `Lifecycle` component): later calls reject with `ClosedError`;
   * then the database stops as `Database.stop` does (calls already made finish, or are
   * aborted once `signal` aborts; the WAL is checkpointed). A second call waits for the first.
   */
  async stop(context: StopContext): Promise<void> {
    stopContext(context);
    this.#stopping = true;
    await this.#db.stop(context);
  }
}

function feedOf(row: Row): Feed {
  return Object.freeze({
    id: Number(row['id']),
    url: String(row['url']),
    title: text(row['title']),
    siteUrl: text(row['site_url']),
    etag: text(row['etag']),
    lastModified: text(row['last_modified']),
    lastFetchedAt: time(row['last_fetched_at']),
    nextFetchAt: time(row['next_fetch_at']),
    status: text(row['status']),
    consecutiveFailures: Number(row['consecutive_failures']),
    lastError: text(row['last_error']),
    addedAt: Number(row['added_at']),
  });
}

function itemOf(
  record: ItemRecord,
  stored: Pick<Item, 'id' | 'feedId' | 'addedAt' | 'read' | 'saved'>,
): Item {
  return Object.freeze({
    id: stored.id,
    feedId: stored.feedId,
    ...record,
    addedAt: stored.addedAt,
    read: stored.read,
    saved: stored.saved,
  });
}

function itemOfRow(row: Row): Item {
  return Object.freeze({
    id: Number(row['id']),
    feedId: Number(row['feed_id']),
    guid: String(row['guid']),
    link: text(row['link']),
    title: text(row['title']),
    summary: text(row['summary']),
    content: text(row['content']),
    author: text(row['author']),
    published: time(row['published']),
    contentHash: String(row['content_hash']),
    addedAt: Number(row['added_at']),
    read: row['is_read'] === 1,
    saved: row['is_saved'] === 1,
  });
}

function text(value: SqlValue | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}

function time(value: SqlValue | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function whereOf(filter: NormalizedFilter): { where: string[]; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.feedId !== undefined) {
    where.push('feed_id = ?');
    params.push(filter.feedId);
  }
  if (filter.unread !== undefined) {
    where.push('is_read = ?');
    params.push(filter.unread ? 0 : 1);
  }
  if (filter.saved !== undefined) {
    where.push('is_saved = ?');
    params.push(filter.saved ? 1 : 0);
  }
  return { where, params };
}

function clause(where: readonly string[]): string {
  return where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
}

/** SQLite's code for a failed statement (`SQLITE_CONSTRAINT_UNIQUE`, …), if it was one. */
function constraint(error: unknown): string | undefined {
  if (!(error instanceof StoreError)) return undefined;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isStale(error: unknown): boolean {
  return error instanceof Error && error.message.includes(STALE);
}

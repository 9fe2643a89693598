/**
 * The feed app's store: its contract (the `FeedStore` interface and its data), and what
 * both implementations share so they behave alike: argument validation, the content
 * hash, the order of items and the paging cursor.
 */
import { createHash } from 'node:crypto';
import type { StopContext } from '../lifecycle/lifecycle.js';
import type { CallOptions } from '../store/options.js';
import {
  callable,
  finite,
  integer,
  nonEmptyString,
  options as checkOptions,
  requiredSignal,
} from '../validate.js';

/** A feed's id: a positive integer, handed out in order and never reused. */
export type FeedId = number;
/** An item's id: a positive integer, handed out in order and never reused. */
export type ItemId = number;

/** What the fetcher records about a feed after each fetch. Every field may be cleared with `null`. */
export interface FetchState {
  /** The `ETag` response header, kept byte for byte to send back as `If-None-Match`. */
  readonly etag: string | null;
  /** The `Last-Modified` response header, kept as sent, for `If-Modified-Since`. */
  readonly lastModified: string | null;
  /** When the feed was last fetched, in ms since the epoch. */
  readonly lastFetchedAt: number | null;
  /** When it is due again, in ms since the epoch (a restart must not re-poll early). */
  readonly nextFetchAt: number | null;
  /** The fetcher's own word for the last outcome (`'ok'`, `'not-modified'`, `'http-404'`, …). */
  readonly status: string | null;
  /** Failed fetches since the last success. */
  readonly consecutiveFailures: number;
  /** The last failure's message. */
  readonly lastError: string | null;
}

/** A feed as stored: plain, frozen data. */
export interface Feed extends FetchState {
  readonly id: FeedId;
  /** Unique among the store's feeds. */
  readonly url: string;
  readonly title: string | null;
  /** The site the feed belongs to (its HTML page). */
  readonly siteUrl: string | null;
  /** When the feed was added, in ms since the epoch (the store's clock). */
  readonly addedAt: number;
}

/** What `addFeed` takes. */
export interface FeedInput {
  /** Unique: a second feed with the same URL is a `DuplicateFeedError`. */
  readonly url: string;
  /** @default null */
  readonly title?: string | null | undefined;
  /** @default null */
  readonly siteUrl?: string | null | undefined;
}

/**
 * What `updateFeed` changes: the fields given (`null` clears one), nothing else. A new
 * `url` (after a permanent redirect) must not be another feed's.
 */
export interface FeedPatch extends Partial<FetchState> {
  readonly url?: string | undefined;
  readonly title?: string | null | undefined;
  readonly siteUrl?: string | null | undefined;
}

/** An item as a feed gives it. Its `guid` identifies it within its feed. */
export interface ItemInput {
  /** Unique within one call and within the feed (the fetcher's stable key for the entry). */
  readonly guid: string;
  readonly link?: string | null | undefined;
  readonly title?: string | null | undefined;
  /** Plain text. */
  readonly summary?: string | null | undefined;
  readonly content?: string | null | undefined;
  readonly author?: string | null | undefined;
  /** When it was published, in ms since the epoch (an integer). */
  readonly published?: number | null | undefined;
}

/** An item as stored: plain, frozen data. */
export interface Item {
  readonly id: ItemId;
  readonly feedId: FeedId;
  readonly guid: string;
  readonly link: string | null;
  readonly title: string | null;
  readonly summary: string | null;
  readonly content: string | null;
  readonly author: string | null;
  readonly published: number | null;
  /**
   * SHA-256 (hex) of the content fields (everything but the guid), computed by the store:
   * an item whose hash is unchanged is left untouched by `replaceItems`.
   */
  readonly contentHash: string;
  /** When the store first saw it, in ms since the epoch (the store's clock). */
  readonly addedAt: number;
  readonly read: boolean;
  readonly saved: boolean;
}

/**
 * What a `replaceItems` or `saveItems` did. The counts add up to the items given
 * (`added + updated + unchanged`), plus `removed` for the ones that were gone.
 */
export interface ItemChanges {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly unchanged: number;
  /** The new items, in the order given, with their new ids (to publish as `items.added`). */
  readonly addedItems: readonly Item[];
  /** The items whose content changed, in the order given; ids and marks kept. */
  readonly updatedItems: readonly Item[];
  /** The ids of the items removed, ascending. */
  readonly removedIds: readonly ItemId[];
}

/** Which items to count or list. Every field left out matches every item. */
export interface ItemFilter {
  readonly feedId?: FeedId | undefined;
  /** `true`: only unread items; `false`: only read ones. */
  readonly unread?: boolean | undefined;
  /** `true`: only saved items; `false`: only unsaved ones. */
  readonly saved?: boolean | undefined;
}

/** A page request of `listItems`. */
export interface ItemQuery extends ItemFilter {
  /** At most this many items, 1 to 1000. @default 50 */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page; left out for the first page. */
  readonly cursor?: string | undefined;
}

/** One page of items, newest first. */
export interface ItemPage {
  readonly items: readonly Item[];
  /** Pass it as `cursor` for the next page; `null` when this page is the last. */
  readonly nextCursor: string | null;
}

/** An item's embedding under one model. */
export interface Embedding {
  readonly itemId: ItemId;
  readonly model: string;
  /** A copy: changing it changes nothing stored. */
  readonly vector: Float32Array;
}

/** Which embeddings `getEmbeddings` returns. */
export interface EmbeddingQuery {
  readonly model: string;
  /** Only these items' embeddings; left out: every item's. */
  readonly itemIds?: readonly ItemId[] | undefined;
}

/**
 * The feed app's store. Every method takes a required `{ signal }` last and rejects with
 * an abort error when it is aborted; an abort error always means nothing changed (an
 * already aborted signal rejects at once). Everything returned is plain, frozen data,
 * a copy: nothing the caller holds changes afterwards, and changing it changes nothing
 * stored. After `stop()`, every call rejects with `ClosedError`.
 *
 * Bad arguments are a `TypeError` or `RangeError` naming the field; a feed or item that
 * is not there is a `NotFoundError`; in each case nothing changed.
 */
export interface FeedStore {
  /**
   * Adds a feed with an empty fetch state.
   * @throws DuplicateFeedError if a feed has this URL already.
   */
  addFeed(input: FeedInput, options: CallOptions): Promise<Feed>;
  /** The feed, or `undefined`. */
  getFeed(feedId: FeedId, options: CallOptions): Promise<Feed | undefined>;
  /** The feed with exactly this URL, or `undefined`. */
  getFeedByUrl(url: string, options: CallOptions): Promise<Feed | undefined>;
  /** Every feed, by id. */
  listFeeds(options: CallOptions): Promise<readonly Feed[]>;
  /**
   * Changes the fields `patch` gives, in one write, and returns the feed as it is now.
   * @throws NotFoundError for a feed that is not there; DuplicateFeedError for a `url`
   *   that is another feed's.
   */
  updateFeed(feedId: FeedId, patch: FeedPatch, options: CallOptions): Promise<Feed>;
  /** Removes the feed with its items, their marks and embeddings. Resolves `false` if it was not there. */
  removeFeed(feedId: FeedId, options: CallOptions): Promise<boolean>;
  /**
   * The differential update, in one transaction: items whose guid is new are added,
   * items whose content hash changed are updated in place (id, marks and `addedAt`
   * kept; their embeddings, which described the old content, are removed), unchanged
   * items are not written at all, and the feed's items whose guid is not in `items` are
   * removed.
   * @throws NotFoundError for a feed that is not there (or removed meanwhile);
   *   RangeError for two items with one guid (the feed, or the caller, must choose).
   */
  replaceItems(
    feedId: FeedId,
    items: readonly ItemInput[],
    options: CallOptions,
  ): Promise<ItemChanges>;
  /** Like `replaceItems`, but removes nothing (`removed` is 0): adds new items, updates changed ones. */
  saveItems(
    feedId: FeedId,
    items: readonly ItemInput[],
    options: CallOptions,
  ): Promise<ItemChanges>;
  /** The item, or `undefined`. */
  getItem(itemId: ItemId, options: CallOptions): Promise<Item | undefined>;
  /**
   * A page of the items `query` filters, newest first: by `published` (or `addedAt` when
   * an item has no date), then by id, both descending. Pages are keyset pages: items
   * added or removed meanwhile never make a later page repeat or skip an item that was
   * there throughout.
   * @throws RangeError for a `cursor` that is not one `listItems` returned.
   */
  listItems(query: ItemQuery, options: CallOptions): Promise<ItemPage>;
  /** How many items `filter` matches. */
  countItems(filter: ItemFilter, options: CallOptions): Promise<number>;
  /** Marks items read (or unread). Ids not there are skipped. Resolves with how many items changed. */
  setRead(itemIds: readonly ItemId[], read: boolean, options: CallOptions): Promise<number>;
  /** Marks items saved (or not). Ids not there are skipped. Resolves with how many items changed. */
  setSaved(itemIds: readonly ItemId[], saved: boolean, options: CallOptions): Promise<number>;
  /**
   * Stores embeddings, replacing any of the same (item, model), all in one transaction.
   * @throws NotFoundError for an item that is not there; RangeError for one (item,
   *   model) given twice.
   */
  saveEmbeddings(embeddings: readonly Embedding[], options: CallOptions): Promise<void>;
  /** The model's embeddings (of `itemIds` only, if given), by item id. */
  getEmbeddings(query: EmbeddingQuery, options: CallOptions): Promise<readonly Embedding[]>;
  /**
   * Stops the store (a `Lifecycle` component): calls already made finish, later ones
   * reject with `ClosedError`. A second call waits for the first.
   */
  stop(context: StopContext): Promise<void>;
}

/** Options both implementations take. */
export interface FeedStoreOptions {
  /**
   * The clock for `addedAt` (feeds and items), in ms since the epoch. Tests pass a fake
   * one. @default Date.now
   */
  readonly now?: (() => number) | undefined;
}

// ---------------------------------------------------------------------------------------
// Shared by both implementations. Internal: not exported from the public surface.

/** The largest `limit` of a page. @internal */
export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 50;
/** ±8.64e15 ms: the range of a JavaScript `Date`. */
const MAX_TIME = 8_640_000_000_000_000;

/** An item ready to store: validated, nulls filled in, its hash computed. @internal */
export type ItemRecord = Pick<
  Item,
  'guid' | 'link' | 'title' | 'summary' | 'content' | 'author' | 'published' | 'contentHash'
>;

/** A validated page request. @internal */
export interface NormalizedQuery extends NormalizedFilter {
  readonly limit: number;
  /** Items strictly after this position, in list order. */
  readonly after: Position | undefined;
}

/** @internal */
export interface NormalizedFilter {
  readonly feedId: FeedId | undefined;
  readonly unread: boolean | undefined;
  readonly saved: boolean | undefined;
}

/** An item's place in list order: (sortTime desc, id desc). @internal */
export interface Position {
  readonly sortTime: number;
  readonly id: ItemId;
}

/** A feed just added: its fetch state empty. @internal */
export function newFeed(
  id: FeedId,
  input: Pick<Feed, 'url' | 'title' | 'siteUrl'>,
  addedAt: number,
): Feed {
  return Object.freeze({
    id,
    url: input.url,
    title: input.title,
    siteUrl: input.siteUrl,
    etag: null,
    lastModified: null,
    lastFetchedAt: null,
    nextFetchAt: null,
    status: null,
    consecutiveFailures: 0,
    lastError: null,
    addedAt,
  });
}

/** The frozen result of a `replaceItems`/`saveItems`. @internal */
export function itemChanges(
  addedItems: readonly Item[],
  updatedItems: readonly Item[],
  removedIds: readonly ItemId[],
  unchanged: number,
): ItemChanges {
  return Object.freeze({
    added: addedItems.length,
    updated: updatedItems.length,
    removed: removedIds.length,
    unchanged,
    addedItems: Object.freeze(addedItems),
    updatedItems: Object.freeze(updatedItems),
    removedIds: Object.freeze(removedIds),
  });
}

/** The time an item is listed by: its publication, or when it was first seen. @internal */
export function sortTimeOf(item: {
  readonly published: number | null;
  readonly addedAt: number;
}): number {
  return item.published ?? item.addedAt;
}

/** The signal of a call. @internal */
export function signalOf(method: string, value: unknown): AbortSignal {
  const given = checkOptions(`${method} options`, value, ['signal']);
  return requiredSignal(`${method} options.signal`, given['signal']);
}

/** Validates a `stop()` context as `Database.stop` does. @internal */
export function stopContext(value: unknown): void {
  const given = checkOptions('stop context', value, ['signal', 'deadline']);
  requiredSignal('stop context.signal', given['signal']);
  finite('stop context.deadline', given['deadline']);
}

/** @internal */
export function clockOf(field: string, value: unknown): () => number {
  return value === undefined ? Date.now : callable(field, value as () => number);
}

/** Requires an id: a positive integer. @internal */
export function id(field: string, value: unknown): number {
  return integer(field, value, 1);
}

function optionalText(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw new TypeError(`${field} must be a string or null, got ${typeof value}`);
  }
  return value;
}

function optionalTime(field: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return integer(field, value, -MAX_TIME, MAX_TIME);
}

/**
 * Requires an object of known keys. `null` is data here (a field to clear), so unlike
 * options objects it is allowed; the keys are checked like every options object's.
 */
function record(field: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    checkOptions(field, value, known);
  }
  const given = value as Record<string, unknown>;
  const keys = Object.fromEntries(Object.keys(given).map((key) => [key, undefined]));
  checkOptions(field, keys, known);
  return given;
}

function array(field: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${field} must be an array, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

const FEED_INPUT = ['url', 'title', 'siteUrl'] as const;

/** @internal */
export function feedInput(value: unknown): {
  readonly url: string;
  readonly title: string | null;
  readonly siteUrl: string | null;
} {
  const given = record('addFeed input', value, FEED_INPUT);
  return {
    url: nonEmptyString('addFeed input.url', given['url']),
    title: optionalText('addFeed input.title', given['title']),
    siteUrl: optionalText('addFeed input.siteUrl', given['siteUrl']),
  };
}

const TEXT_FIELDS = ['title', 'siteUrl', 'etag', 'lastModified', 'status', 'lastError'] as const;
const TIME_FIELDS = ['lastFetchedAt', 'nextFetchAt'] as const;
const PATCH_FIELDS = ['url', ...TEXT_FIELDS, ...TIME_FIELDS, 'consecutiveFailures'] as const;

/** The fields a patch changes, validated; absent keys stay absent. @internal */
export type NormalizedPatch = {
  -readonly [K in keyof FeedPatch]?: Exclude<FeedPatch[K], undefined>;
};

/** @internal */
export function feedPatch(value: unknown): NormalizedPatch {
  const given = record('updateFeed patch', value, PATCH_FIELDS);
  const patch: NormalizedPatch = {};
  if (given['url'] !== undefined) patch.url = nonEmptyString('updateFeed patch.url', given['url']);
  for (const key of TEXT_FIELDS) {
    if (key in given && given[key] !== undefined) {
      patch[key] = optionalText(`updateFeed patch.${key}`, given[key]);
    }
  }
  for (const key of TIME_FIELDS) {
    if (key in given && given[key] !== undefined) {
      patch[key] = optionalTime(`updateFeed patch.${key}`, given[key]);
    }
  }
  if (given['consecutiveFailures'] !== undefined) {
    patch.consecutiveFailures = integer(
      'updateFeed patch.consecutiveFailures',
      given['consecutiveFailures'],
      0,
    );
  }
  return patch;
}

const ITEM_FIELDS = ['guid', 'link', 'title', 'summary', 'content', 'author', 'published'] as const;

/**
 * The items of a `replaceItems`/`saveItems`, validated, with their hashes.
 * Two items with one guid are refused: which one the feed meant cannot be known here.
 * @internal
 */
export function itemRecords(method: string, value: unknown): readonly ItemRecord[] {
  const seen = new Map<string, number>();
  return array(`${method} items`, value).map((item, index) => {
    const field = `${method} items[${index}]`;
    const given = record(field, item, ITEM_FIELDS);
    const guid = nonEmptyString(`${field}.guid`, given['guid']);
    const first = seen.get(guid);
    if (first !== undefined) {
      throw new RangeError(
        `${field}.guid ${JSON.stringify(guid)} repeats items[${first}].guid: guids must be unique within one call`,
      );
    }
    seen.set(guid, index);
    const fields = {
      link: optionalText(`${field}.link`, given['link']),
      title: optionalText(`${field}.title`, given['title']),
      summary: optionalText(`${field}.summary`, given['summary']),
      content: optionalText(`${field}.content`, given['content']),
      author: optionalText(`${field}.author`, given['author']),
      published: optionalTime(`${field}.published`, given['published']),
    };
    return { guid, ...fields, contentHash: contentHash(fields) };
  });
}

/**
 * The hash that decides "changed": over every content field, in a fixed order, so both
 * implementations (and any version of them) agree on it.
 */
function contentHash(fields: Omit<ItemRecord, 'guid' | 'contentHash'>): string {
  const { link, title, summary, content, author, published } = fields;
  return createHash('sha256')
    .update(JSON.stringify([link, title, summary, content, author, published]))
    .digest('hex');
}

/** A list of ids (for marks): positive integers. @internal */
export function ids(field: string, value: unknown): readonly ItemId[] {
  return array(field, value).map((v, index) => id(`${field}[${index}]`, v));
}

/** @internal */
export function flag(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${field} must be true or false, got ${typeof value}`);
  }
  return value;
}

function optionalFlag(field: string, value: unknown): boolean | undefined {
  return value === undefined ? undefined : flag(field, value);
}

const FILTER_FIELDS = ['feedId', 'unread', 'saved'] as const;

function filterOf(field: string, given: Record<string, unknown>): NormalizedFilter {
  return {
    feedId: given['feedId'] === undefined ? undefined : id(`${field}.feedId`, given['feedId']),
    unread: optionalFlag(`${field}.unread`, given['unread']),
    saved: optionalFlag(`${field}.saved`, given['saved']),
  };
}

/** @internal */
export function itemFilter(value: unknown): NormalizedFilter {
  return filterOf('countItems filter', checkOptions('countItems filter', value, FILTER_FIELDS));
}

/** @internal */
export function itemQuery(value: unknown): NormalizedQuery {
  const field = 'listItems query';
  const given = checkOptions(field, value, [...FILTER_FIELDS, 'limit', 'cursor']);
  const limit =
    given['limit'] === undefined
      ? DEFAULT_PAGE
      : integer(`${field}.limit`, given['limit'], 1, MAX_PAGE);
  const after = given['cursor'] === undefined ? undefined : decodeCursor(given['cursor']);
  return { ...filterOf(field, given), limit, after };
}

const CURSOR = /^c1\.(-?\d{1,16})\.(\d{1,16})$/;

/** An opaque cursor: the position of a page's last item. @internal */
export function encodeCursor(position: Position): string {
  return Buffer.from(`c1.${position.sortTime}.${position.id}`).toString('base64url');
}

function decodeCursor(value: unknown): Position {
  const problem = (): RangeError =>
    new RangeError(
      `listItems query.cursor must be the nextCursor of an earlier page, got ${JSON.stringify(value)}`,
    );
  if (typeof value !== 'string') {
    throw new TypeError(`listItems query.cursor must be a string, got ${typeof value}`);
  }
  const match = CURSOR.exec(Buffer.from(value, 'base64url').toString('latin1'));
  const sortTime = Number(match?.[1]);
  const id = Number(match?.[2]);
  if (match === null || encodeCursor({ sortTime, id }) !== value) throw problem();
  if (!(Math.abs(sortTime) <= MAX_TIME) || !(id >= 1 && Number.isSafeInteger(id))) throw problem();
  return { sortTime, id };
}

/** Whether `item` comes after `position` in list order. @internal */
export function isAfter(item: Position, position: Position): boolean {
  return (
    item.sortTime < position.sortTime ||
    (item.sortTime === position.sortTime && item.id < position.id)
  );
}

const EMBEDDING_FIELDS = ['itemId', 'model', 'vector'] as const;

/** The embeddings of a `saveEmbeddings`, validated and copied. @internal */
export function embeddings(value: unknown): readonly Embedding[] {
  const seen = new Set<string>();
  return array('saveEmbeddings embeddings', value).map((entry, index) => {
    const field = `saveEmbeddings embeddings[${index}]`;
    const given = checkOptions(field, entry, EMBEDDING_FIELDS);
    const itemId = id(`${field}.itemId`, given['itemId']);
    const model = nonEmptyString(`${field}.model`, given['model']);
    const vector = given['vector'];
    if (!(vector instanceof Float32Array) || vector.length === 0) {
      throw new TypeError(`${field}.vector must be a non-empty Float32Array`);
    }
    const key = `${itemId}\u0000${model}`;
    if (seen.has(key)) {
      throw new RangeError(`${field} repeats item ${itemId} under model ${JSON.stringify(model)}`);
    }
    seen.add(key);
    return { itemId, model, vector: vector.slice() };
  });
}

/** @internal */
export function embeddingQuery(value: unknown): {
  readonly model: string;
  readonly itemIds: readonly ItemId[] | undefined;
} {
  const given = checkOptions('getEmbeddings query', value, ['model', 'itemIds']);
  return {
    model: nonEmptyString('getEmbeddings query.model', given['model']),
    itemIds:
      given['itemIds'] === undefined
        ? undefined
        : ids('getEmbeddings query.itemIds', given['itemIds']),
  };
}

/** A frozen embedding whose vector is a fresh copy. @internal */
export function embeddingOut(itemId: ItemId, model: string, vector: Float32Array): Embedding {
  return Object.freeze({ itemId, model, vector: vector.slice() });
}

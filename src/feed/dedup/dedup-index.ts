/**
 * The index of stories already seen, read by many jobs while the intake writes it.
 */
import { abortOptions, throwIfAborted, type AbortOptions } from '../../abort.js';
import { RWLock } from '../../sync/rwlock.js';
import { finite, integer, nonEmptyString, options as checkOptions } from '../../validate.js';
import type { Embedder } from '../embed/embedder.js';
import { canonicalLink } from './canonical-link.js';
import { halvesDistance, simhashHalves, type Halves } from './simhash.js';

/** What the index needs of an item; the intake's normalised item fits as it is. */
export interface DedupCandidate {
  /** The item's own id, returned as `of` when a later item duplicates it. */
  readonly id: string;
  /**
   * The feed it came from. Within one feed the publisher's ids decide: two items of one
   * feed with different guids (or, lacking guids, different links) are two items, however
   * alike (a bot posting one caption under two photos; a link blog's two posts about
   * one external page). Links, hashes and near-duplicates match across feeds, and within
   * a feed only items the publisher did not tell apart, or that left it (see `feedItems`).
   */
  readonly feed?: string | undefined;
  /**
   * The ids of every item the candidate's feed carries now (its own included). An entry
   * of the same feed that is not among them has left the feed, so its id no longer
   * tells it apart: a candidate matching it is that item under a new id (a feed that
   * changed its item ids), not a second item. Left out: every entry of the feed is
   * taken to be still in it.
   */
  readonly feedItems?: ReadonlySet<string> | undefined;
  readonly guid?: string | undefined;
  /** The story's link; compared in its canonical form (see `canonicalLink`). */
  readonly link?: string | undefined;
  /** A hash of the item's content, computed by the caller (the store's content hash). */
  readonly contentHash?: string | undefined;
  readonly title: string;
  /** Plain text or HTML (markup is ignored). */
  readonly summary: string;
}

/** How a duplicate was recognised, in the order the index tries them. */
export type DedupMatch = 'guid' | 'link' | 'hash' | 'simhash' | 'embedding';

/** The index's answer for a candidate. */
export type DedupVerdict =
  | { readonly kind: 'new' }
  | {
      readonly kind: 'duplicate';
      /** The id of the entry it duplicates (the nearest, for `simhash` and `embedding`). */
      readonly of: string;
      readonly by: DedupMatch;
      /** For `simhash`: differing bits (0 to `maxDistance`); for `embedding`: 1 − cosine similarity. */
      readonly distance?: number;
    };

/** Options of {@link DedupIndex}. */
export interface DedupIndexOptions {
  /** Most entries kept; adding more evicts the oldest added (not the least used). @default 100000 */
  readonly maxEntries?: number | undefined;
  /** Largest SimHash distance, in bits, that counts as the same story: 0 to 3. @default 3 */
  readonly maxDistance?: number | undefined;
  /**
   * Fewest words (title + summary) for a near-duplicate check. Short texts ("Item 1",
   * "Episode 12") share most of their words with unrelated items; they are matched by
   * guid, link and hash only. @default 8
   */
  readonly minWords?: number | undefined;
  /** Compare embeddings too, after the SimHash finds nothing. @default none */
  readonly embedder?: Embedder | undefined;
  /** Least cosine similarity of embeddings that counts as the same story, in (0, 1]. @default 0.95 */
  readonly minSimilarity?: number | undefined;
}

const OPTIONS = ['maxEntries', 'maxDistance', 'minWords', 'embedder', 'minSimilarity'] as const;

/** The lock's class and rank for lockdep: see "The app's lock ranks" in docs/architecture.md. */
const LOCK = { name: 'dedup-index', rank: 20 } as const;

/** Embeddings compared between two looks at the caller's signal (and turns of the event loop). */
const SCAN_SLICE = 4096;

/** A candidate with everything computed that can be computed outside the lock. */
interface Entry {
  readonly id: string;
  readonly feed: string | undefined;
  readonly feedItems: ReadonlySet<string> | undefined;
  readonly guid: string | undefined;
  readonly link: string | undefined;
  readonly hash: string | undefined;
  readonly fingerprint: Halves | undefined;
  readonly vector: Float32Array | undefined;
  /** The vector's L2 norm, kept so a comparison costs one dot product. */
  readonly norm: number;
}

const NEW: DedupVerdict = Object.freeze({ kind: 'new' });

/**
 * Exact and near-duplicate detection over the items seen so far.
 *
 * A candidate is a duplicate of an entry with the same guid, canonical link or content
 * hash; else of the entry whose 64-bit SimHash (title + summary) is nearest, within
 * `maxDistance` bits; else, with an `embedder`, of the entry whose embedding is most
 * similar, from `minSimilarity` up.
 *
 * Concurrency: `check` takes the read side of an {@link RWLock} (named `'dedup-index'`,
 * rank 20), so any number of checks run together; `add`, `admit` and `remove` take the
 * write side. Fingerprints and embeddings are computed before the lock is taken, so a
 * writer never waits for a model and nothing is ever seen half added. Use `admit` to
 * check and add in one step: two `check`-then-`add` callers with the same story can
 * both see it new.
 *
 * Near-duplicate search is not a scan: a fingerprint within 3 bits of another agrees
 * with it on at least one of its four 16-bit blocks (pigeonhole), so only the entries
 * sharing a block are compared. Embeddings are compared one by one (the scan yields to
 * the event loop and checks the signal every 4096 entries).
 */
export class DedupIndex {
  readonly #lock = new RWLock(LOCK);
  readonly #maxEntries: number;
  readonly #maxDistance: number;
  readonly #minWords: number;
  readonly #embedder: Embedder | undefined;
  readonly #minSimilarity: number;
  /** Every entry, oldest added first (Map keeps insertion order): the eviction order. */
  readonly #byId = new Map<string, Entry>();
  readonly #byGuid = new Map<string, Entry>();
  readonly #byLink = new Map<string, Entry>();
  readonly #byHash = new Map<string, Entry>();
  /** For block b (0–3), the entries whose fingerprint has each 16-bit value there. */
  readonly #blocks = [0, 1, 2, 3].map(() => new Map<number, Set<Entry>>());

  /** @throws TypeError/RangeError naming a bad or unknown option. */
  constructor(options: DedupIndexOptions = {}) {
    const given = checkOptions('DedupIndex options', options, OPTIONS);
    this.#maxEntries = integer('maxEntries', given['maxEntries'] ?? 100_000, 1);
    this.#maxDistance = integer('maxDistance', given['maxDistance'] ?? 3, 0, 3);
    this.#minWords = integer('minWords', given['minWords'] ?? 8, 1);
    const embedder = given['embedder'] as Embedder | undefined;
    if (embedder !== undefined && typeof embedder.embed !== 'function') {
      throw new TypeError('embedder must be an Embedder (with embed())');
    }
    this.#embedder = embedder;
    const minSimilarity = finite('minSimilarity', given['minSimilarity'] ?? 0.95);
    if (!(minSimilarity > 0 && minSimilarity <= 1)) {
      throw new RangeError(`minSimilarity must be in (0, 1], got ${minSimilarity}`);
    }
    this.#minSimilarity = minSimilarity;
  }

  /** Most entries kept (the `maxEntries` option). */
  get capacity(): number {
    return this.#maxEntries;
  }

  /** Entries held. */
  get size(): number {
    return this.#byId.size;
  }

  /** Whether an entry with this id is held (no lock: a snapshot of this instant). */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /**
   * Says whether `candidate` duplicates an entry. Waits for the embedder (when there is
   * one), then for the read lock (behind a waiting writer).
   * @throws (as a rejection) TypeError naming a bad field; an abort error when `signal`
   *   aborts; the embedder's error.
   */
  async check(candidate: DedupCandidate, options: AbortOptions = {}): Promise<DedupVerdict> {
    const signal = abortOptions('check options', options);
    const entry = await this.#prepare(candidate, signal);
    return this.#lock.runRead(() => this.#match(entry, signal), { signal });
  }

  /**
   * Checks `candidate` and, when it is new, adds it, in one hold of the write lock, so
   * two callers with one story cannot both see it new.
   * @throws as {@link DedupIndex.check}.
   */
  async admit(candidate: DedupCandidate, options: AbortOptions = {}): Promise<DedupVerdict> {
    const signal = abortOptions('admit options', options);
    const entry = await this.#prepare(candidate, signal);
    return this.#lock.runWrite(
      async () => {
        const verdict = await this.#match(entry, signal);
        if (verdict.kind === 'new') this.#insert(entry);
        return verdict;
      },
      { signal },
    );
  }

  /**
   * Adds `candidate` whatever it duplicates (an entry with its id is replaced). Its
   * guid, link and hash stay with the entry that had them first. When the index is full,
   * the oldest added entry is evicted.
   * @throws as {@link DedupIndex.check}.
   */
  async add(candidate: DedupCandidate, options: AbortOptions = {}): Promise<void> {
    const signal = abortOptions('add options', options);
    const entry = await this.#prepare(candidate, signal);
    await this.#lock.runWrite(() => this.#insert(entry), { signal });
  }

  /**
   * Removes the entry `id`; resolves whether there was one. Waits for the write lock.
   * @throws (as a rejection) TypeError for a bad id; an abort error when `signal` aborts.
   */
  async remove(id: string, options: AbortOptions = {}): Promise<boolean> {
    const signal = abortOptions('remove options', options);
    nonEmptyString('id', id);
    return this.#lock.runWrite(() => this.#delete(id), { signal });
  }

  async #prepare(candidate: DedupCandidate, signal: AbortSignal | undefined): Promise<Entry> {
    // A record, not options: extra fields (the intake's whole item) are welcome and ignored.
    if (typeof candidate !== 'object' || candidate === null) {
      throw new TypeError(`candidate must be an object, got ${String(candidate)}`);
    }
    const c = candidate as unknown as Record<string, unknown>;
    const id = nonEmptyString('candidate.id', c['id']);
    const feed = optionalKey('candidate.feed', c['feed']);
    const feedItems = c['feedItems'];
    if (feedItems !== undefined && !(feedItems instanceof Set)) {
      throw new TypeError(`candidate.feedItems must be a Set of ids, got ${typeof feedItems}`);
    }
    const guid = optionalKey('candidate.guid', c['guid']);
    const link = optionalKey('candidate.link', c['link']);
    const hash = optionalKey('candidate.contentHash', c['contentHash']);
    const title = text('candidate.title', c['title']);
    const summary = text('candidate.summary', c['summary']);
    throwIfAborted(signal);
    const joined = `${title}\n${summary}`;
    const halves = simhashHalves(joined);
    const near = halves.words >= this.#minWords;
    let vector: Float32Array | undefined;
    // Outside the lock: a model may take seconds, and waiting on the pool while holding a lock is refused.
    if (near && this.#embedder !== undefined) {
      [vector] = await this.#embedder.embed([joined], { signal });
    }
    return {
      id,
      feed,
      feedItems: feedItems as ReadonlySet<string> | undefined,
      guid: guid?.trim(),
      link: link === undefined ? undefined : (canonicalLink(link) ?? link.trim()),
      hash,
      fingerprint: near ? halves : undefined,
      vector,
      norm: vector === undefined ? 0 : Math.sqrt(dot(vector, vector)),
    };
  }

  async #match(entry: Entry, signal: AbortSignal | undefined): Promise<DedupVerdict> {
    const exact =
      found(this.#byGuid, entry, entry.guid, 'guid') ??
      found(this.#byLink, entry, entry.link, 'link') ??
      found(this.#byHash, entry, entry.hash, 'hash') ??
      this.#nearestFingerprint(entry);
    if (exact !== undefined) return exact;
    if (entry.vector === undefined) return NEW;
    return (await this.#nearestVector(entry, entry.vector, signal)) ?? NEW;
  }

  #nearestFingerprint(entry: Entry): DedupVerdict | undefined {
    const fp = entry.fingerprint;
    if (fp === undefined) return undefined;
    let best: Entry | undefined;
    let bestDistance = this.#maxDistance + 1;
    for (let b = 0; b < 4; b++) {
      for (const other of this.#blocks[b]?.get(block(fp, b)) ?? []) {
        if (apart(entry, other)) continue;
        const d = halvesDistance(fp, other.fingerprint as Halves);
        if (d < bestDistance) {
          best = other;
          bestDistance = d;
        }
      }
    }
    return best === undefined
      ? undefined
      : { kind: 'duplicate', of: best.id, by: 'simhash', distance: bestDistance };
  }

  async #nearestVector(
    entry: Entry,
    vector: Float32Array,
    signal: AbortSignal | undefined,
  ): Promise<DedupVerdict | undefined> {
    let best: Entry | undefined;
    let bestSimilarity = this.#minSimilarity;
    let seen = 0;
    for (const other of this.#byId.values()) {
      if (++seen % SCAN_SLICE === 0) {
        // A long scan lets the loop turn, so an abort (or anything else) can happen meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
        throwIfAborted(signal);
      }
      if (other.vector?.length !== vector.length || apart(entry, other)) continue;
      const similarity =
        entry.norm === 0 || other.norm === 0
          ? 0
          : dot(vector, other.vector) / (entry.norm * other.norm);
      if (similarity >= bestSimilarity) {
        best = other;
        bestSimilarity = similarity;
      }
    }
    return best === undefined
      ? undefined
      : { kind: 'duplicate', of: best.id, by: 'embedding', distance: 1 - bestSimilarity };
  }

  #insert(candidate: Entry): void {
    // The feed's item set describes one fetch; an entry kept for long must not hold it.
    const entry =
      candidate.feedItems === undefined ? candidate : { ...candidate, feedItems: undefined };
    this.#delete(entry.id);
    this.#byId.set(entry.id, entry);
    claim(this.#byGuid, entry.guid, entry);
    claim(this.#byLink, entry.link, entry);
    claim(this.#byHash, entry.hash, entry);
    if (entry.fingerprint !== undefined) {
      for (let b = 0; b < 4; b++) {
        const map = this.#blocks[b] as Map<number, Set<Entry>>;
        const key = block(entry.fingerprint, b);
        const bucket = map.get(key);
        if (bucket === undefined) map.set(key, new Set([entry]));
        else bucket.add(entry);
      }
    }
    for (const oldest of this.#byId.keys()) {
      if (this.#byId.size <= this.#maxEntries) break;
      this.#delete(oldest);
    }
  }

  #delete(id: string): boolean {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    this.#byId.delete(id);
    release(this.#byGuid, entry.guid, entry);
    release(this.#byLink, entry.link, entry);
    release(this.#byHash, entry.hash, entry);
    if (entry.fingerprint !== undefined) {
      for (let b = 0; b < 4; b++) {
        const map = this.#blocks[b] as Map<number, Set<Entry>>;
        const key = block(entry.fingerprint, b);
        const bucket = map.get(key);
        bucket?.delete(entry);
        if (bucket?.size === 0) map.delete(key);
      }
    }
    return true;
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/**
 * Two items its publisher told apart: see {@link DedupCandidate.feed}. `a` is the
 * candidate; an entry `b` that has left `a`'s feed is told apart by nothing.
 */
function apart(a: Entry, b: Entry): boolean {
  return (
    a.feed !== undefined &&
    a.feed === b.feed &&
    (a.feedItems === undefined || a.feedItems.has(b.id)) &&
    (differ(a.guid, b.guid) || differ(a.link, b.link))
  );
}

function differ(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a !== b;
}

/** The 16-bit block `b` (0–3) of a fingerprint. */
function block(fp: Halves, b: number): number {
  const half = b < 2 ? fp.lo : fp.hi;
  return b % 2 === 0 ? half & 0xffff : half >>> 16;
}

function found(
  map: Map<string, Entry>,
  entry: Entry,
  key: string | undefined,
  by: 'guid' | 'link' | 'hash',
): DedupVerdict | undefined {
  const other = key === undefined ? undefined : map.get(key);
  return other === undefined || apart(entry, other)
    ? undefined
    : { kind: 'duplicate', of: other.id, by };
}

function claim(map: Map<string, Entry>, key: string | undefined, entry: Entry): void {
  if (key !== undefined && key !== '' && !map.has(key)) map.set(key, entry);
}

function release(map: Map<string, Entry>, key: string | undefined, entry: Entry): void {
  if (key !== undefined && map.get(key) === entry) map.delete(key);
}

function optionalKey(field: string, value: unknown): string | undefined {
  return value === undefined ? undefined : text(field, value);
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(`${field} must be a string, got ${typeof value}`);
  }
  return value;
}

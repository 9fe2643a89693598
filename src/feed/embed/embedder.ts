/**
 * Text embeddings: the {@link Embedder} contract, a model-free default
 * ({@link HashingEmbedder}) and a cache in front of any embedder ({@link CachedEmbedder}).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { abortErrorOf, abortOptions, onAbort, throwIfAborted } from '../../abort.js';
import { SingleFlight } from '../../sync/singleflight.js';
import { integer, options as checkOptions } from '../../validate.js';
import { normalizedWords } from '../dedup/simhash.js';

/** Options of {@link Embedder.embed}. */
export interface EmbedOptions {
  /** Cancels the call: it rejects with an abort error, and a request it made is closed. */
  readonly signal?: AbortSignal | undefined;
}

/** Turns texts into vectors; similar texts get vectors with a high cosine similarity. */
export interface Embedder {
  /** What made the vectors: vectors of different models are never compared or cached together. */
  readonly model: string;
  /** Length of every vector, or `undefined` until the first answer tells (a remote model). */
  readonly dimensions: number | undefined;
  /**
   * One vector per text, in order. Waits for the model; rejects with an abort error when
   * `signal` aborts. Implementations may batch, but never return fewer or more vectors.
   */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
}

/** Checks `texts` (an array of strings) for every embedder's entry point. @internal */
export function checkTexts(texts: unknown): readonly string[] {
  if (!Array.isArray(texts)) {
    throw new TypeError(`texts must be an array of strings, got ${typeof texts}`);
  }
  texts.forEach((text: unknown, i) => {
    if (typeof text !== 'string') {
      throw new TypeError(`texts[${i}] must be a string, got ${typeof text}`);
    }
  });
  return texts as readonly string[];
}

/** Cosine similarity of two vectors of one length (0 when either is all zeros). */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Options of {@link HashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** Length of each vector, 8 to 65536. More dimensions, fewer collisions between words. @default 256 */
  readonly dimensions?: number | undefined;
}

/**
 * Feature hashing (the "hashing trick"): each word and each pair of adjacent words of
 * the normalised text adds ±1 to one of `dimensions` slots chosen by its hash; the vector
 * is then L2-normalised. No model, no I/O, deterministic: texts sharing most words have a
 * high cosine similarity, and nothing about meaning is known (synonyms stay apart).
 */
export class HashingEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;

  /** @throws TypeError/RangeError naming a bad or unknown option. */
  constructor(options: HashingEmbedderOptions = {}) {
    const given = checkOptions('HashingEmbedder options', options, ['dimensions']);
    this.dimensions = integer('dimensions', given['dimensions'] ?? 256, 8, 65536);
    this.model = `workbus-hashing-${this.dimensions}`;
  }

  /**
   * Computes the vectors at once (no wait beyond the call itself).
   * @throws (as a rejection) TypeError for texts that are not strings; an abort error if
   *   `signal` has aborted.
   */
  embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    try {
      const signal = abortOptions('embed options', options);
      checkTexts(texts);
      throwIfAborted(signal);
      return Promise.resolve(texts.map((text) => this.#vector(text)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #vector(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const words = normalizedWords(text);
    let previous: string | undefined;
    for (const word of words) {
      this.#add(vector, word);
      if (previous !== undefined) this.#add(vector, `${previous} ${word}`);
      previous = word;
    }
    let norm = 0;
    for (const x of vector) norm += x * x;
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale;
    }
    return vector;
  }

  #add(vector: Float32Array, feature: string): void {
    let h = 0x811c9dc5;
    for (let i = 0; i < feature.length; i++) h = Math.imul(h ^ feature.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    // The top bit picks the sign, so colliding features cancel out on average instead of piling up.
    const slot = (h & 0x7fffffff) % this.dimensions;
    vector[slot] = (vector[slot] as number) + (h >>> 31 === 1 ? -1 : 1);
  }
}

/** Options of {@link CachedEmbedder}. */
export interface CachedEmbedderOptions {
  /** Most vectors kept. @default 10000 */
  readonly maxEntries?: number | undefined;
  /** Most bytes of vectors (and keys) kept; the least recently used go first. @default 67108864 (64 MiB) */
  readonly maxBytes?: number | undefined;
  /** Most texts sent to the inner embedder in one call; a larger set is split. @default 64 */
  readonly maxBatch?: number | undefined;
}

interface Waiting {
  readonly key: string;
  readonly text: string;
  readonly signal: AbortSignal;
  readonly resolve: (vector: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/** Bytes a cached vector costs besides its floats: the 64-character key and the entry. */
const ENTRY_OVERHEAD = 200;

/**
 * A bounded cache in front of an embedder, keyed by the SHA-256 of model and text:
 * identical text is embedded once while it stays cached, and memory stays within
 * `maxEntries` and `maxBytes` (least recently used vectors go first).
 *
 * Concurrent requests for one text join one embedding (a {@link SingleFlight} per key):
 * each caller's signal ends only its own wait, and the inner request is aborted only
 * when every caller that wanted it has given up. The texts missing from the cache in one
 * tick (of this call and of concurrent ones) are sent to the inner embedder together, in
 * batches of at most `maxBatch`. Each caller gets its own copy of a vector, so nothing a
 * caller does to it changes the cache.
 */
export class CachedEmbedder implements Embedder {
  readonly #inner: Embedder;
  readonly #cache: LRUCache<string, Float32Array>;
  readonly #flights = new SingleFlight<string, Float32Array>();
  readonly #maxBatch: number;
  #pending: Waiting[] = [];
  #misses = 0;

  /** @throws TypeError/RangeError naming a bad or unknown option, or an `inner` that is no Embedder. */
  constructor(inner: Embedder, options: CachedEmbedderOptions = {}) {
    if (typeof inner?.embed !== 'function' || typeof inner.model !== 'string') {
      throw new TypeError('inner must be an Embedder (with embed() and a model name)');
    }
    const given = checkOptions('CachedEmbedder options', options, [
      'maxEntries',
      'maxBytes',
      'maxBatch',
    ]);
    const maxEntries = integer('maxEntries', given['maxEntries'] ?? 10_000, 1);
    const maxBytes = integer('maxBytes', given['maxBytes'] ?? 64 * 1024 * 1024, 1);
    this.#maxBatch = integer('maxBatch', given['maxBatch'] ?? 64, 1);
    this.#inner = inner;
    this.#cache = new LRUCache({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (vector) => vector.byteLength + ENTRY_OVERHEAD,
    });
  }

  get model(): string {
    return this.#inner.model;
  }

  get dimensions(): number | undefined {
    return this.#inner.dimensions;
  }

  /** Vectors held now. */
  get size(): number {
    return this.#cache.size;
  }

  /** Texts sent to the inner embedder so far (each a cache miss not joined to another). */
  get misses(): number {
    return this.#misses;
  }

  /**
   * One vector per text: from the cache, from an embedding in flight for the same text,
   * or from the inner embedder. Waits for the inner embedder when a text is missing.
   * @throws (as a rejection) TypeError for bad arguments; the inner embedder's error;
   *   an abort error when `signal` aborts (other callers of the same texts go on).
   */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const signal = abortOptions('embed options', options);
    checkTexts(texts);
    throwIfAborted(signal);
    const model = this.#inner.model;
    const vectors = texts.map((text) => {
      const key = createHash('sha256').update(model).update('\0').update(text).digest('hex');
      const cached = this.#cache.get(key);
      if (cached !== undefined) return Promise.resolve(cached);
      return this.#flights.run(key, (flight) => this.#enqueue(key, text, flight), { signal });
    });
    return (await Promise.all(vectors)).map((vector) => vector.slice());
  }

  /** Runs when a key's flight starts: the text joins the batch of this tick. */
  #enqueue(key: string, text: string, signal: AbortSignal): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      // Microtasks run in order: the flights of every text asked for in this tick start
      // before the flush scheduled by the first of them, so one request carries them all.
      if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
      this.#pending.push({ key, text, signal, resolve, reject });
    });
  }

  #flush(): void {
    const waiting = this.#pending;
    this.#pending = [];
    for (let i = 0; i < waiting.length; i += this.#maxBatch) {
      void this.#request(waiting.slice(i, i + this.#maxBatch));
    }
  }

  async #request(batch: readonly Waiting[]): Promise<void> {
    const live: Waiting[] = [];
    for (const w of batch) {
      if (w.signal.aborted) w.reject(abortErrorOf(w.signal));
      else live.push(w);
    }
    if (live.length === 0) return;
    const controller = new AbortController();
    let left = live.length;
    const detach = live.map((w) =>
      onAbort(w.signal, () => {
        w.reject(abortErrorOf(w.signal));
        if (--left === 0) controller.abort(w.signal.reason);
      }),
    );
    try {
      this.#misses += live.length;
      const vectors = await this.#inner.embed(
        live.map((w) => w.text),
        { signal: controller.signal },
      );
      if (!Array.isArray(vectors) || vectors.length !== live.length) {
        throw new TypeError(
          `${this.#inner.model} returned ${Array.isArray(vectors) ? vectors.length : 'no'} vectors for ${live.length} texts`,
        );
      }
      live.forEach((w, i) => {
        const vector = vectors[i] as Float32Array;
        this.#cache.set(w.key, vector);
        w.resolve(vector);
      });
    } catch (error) {
      for (const w of live) w.reject(error);
    } finally {
      for (const d of detach) d();
    }
  }
}

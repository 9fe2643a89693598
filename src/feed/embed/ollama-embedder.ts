/**
 * Embeddings from a local Ollama server (`POST /api/embed`), one request at a time.
 *
 * Ollama runs one model on one GPU or CPU: parallel requests only queue inside it (and
 * time out there), so requests go through a {@link WorkPool} job type with concurrency 1
 * and a start rate. The pool also gives the retry with backoff a busy server (503, a
 * model still loading) needs, and gives the slot back while a retry waits.
 */
import { abortErrorOf, abortOptions, throwIfAborted } from '../../abort.js';
import { EmbedError } from '../../errors.js';
import type { JobTypeOptions, RateLimit } from '../../pool/options.js';
import type { CloseReport } from '../../pool/events.js';
import { WorkPool } from '../../pool/work-pool.js';
import { duration, integer, nonEmptyString, options as checkOptions } from '../../validate.js';
import { checkTexts, type EmbedOptions, type Embedder } from './embedder.js';

/**
 * The job type Ollama's requests want: one at a time, at most 10 starts a second.
 * Register it in the app's pool (`types: { embed: OLLAMA_EMBED_TYPE, … }`) and pass
 * that pool to {@link OllamaEmbedder}.
 */
export const OLLAMA_EMBED_TYPE: JobTypeOptions = Object.freeze({
  concurrency: 1,
  rate: Object.freeze({ limit: 10, intervalMs: 1000 }),
});

/** How a busy server (503) is retried: exponential backoff with full jitter. */
export interface OllamaRetryOptions {
  /** Requests in all, the first included. @default 6 */
  readonly attempts?: number | undefined;
  /** Backoff before the second request, doubling after each, in ms. @default 250 */
  readonly baseMs?: number | undefined;
  /** Longest backoff, in ms. @default 8000 */
  readonly maxMs?: number | undefined;
}

/** Options of {@link OllamaEmbedder}. */
export interface OllamaEmbedderOptions {
  /** The server, e.g. `'http://127.0.0.1:11434'`. */
  readonly baseUrl: string;
  /** The embedding model, e.g. `'nomic-embed-text'`. */
  readonly model: string;
  /** Expected vector length; a different answer is an `EmbedError` (`'dimensions'`). @default the first answer's */
  readonly dimensions?: number | undefined;
  /**
   * The pool whose job type runs the requests; it should be registered with
   * {@link OLLAMA_EMBED_TYPE} (concurrency 1 is checked). Without one, the embedder makes
   * a pool of its own with that type, which {@link OllamaEmbedder.close} closes.
   */
  readonly pool?: WorkPool | undefined;
  /** The job type's name in `pool`. @default 'embed' */
  readonly type?: string | undefined;
  /** Start rate of the embedder's own pool (not allowed with `pool`). @default 10 per second */
  readonly rate?: RateLimit | undefined;
  /** Retry of a busy server. */
  readonly retry?: OllamaRetryOptions | undefined;
  /** Time for one request (model loading included), in ms. @default 120000 */
  readonly timeoutMs?: number | undefined;
  /** Most texts in one request; more are split. @default 32 */
  readonly maxBatch?: number | undefined;
}

const OPTIONS = [
  'baseUrl',
  'model',
  'dimensions',
  'pool',
  'type',
  'rate',
  'retry',
  'timeoutMs',
  'maxBatch',
] as const;

/**
 * An {@link Embedder} for Ollama's `/api/embed` (Ollama 0.3.4 and later): sends
 * `{ model, input: [texts] }`, reads `{ embeddings: number[][] }`.
 *
 * Each request is a job of the pool's `embed` type (concurrency 1), so never more than
 * one is open at a time, whoever calls. The caller's signal is the request's: aborting
 * it closes the HTTP request (the server sees the connection close). A 503 is retried
 * with exponential backoff and jitter; other failures are an {@link EmbedError} at once.
 * Wrap it in a `CachedEmbedder` so identical texts are embedded once.
 */
export class OllamaEmbedder implements Embedder {
  readonly model: string;
  readonly #url: string;
  readonly #pool: WorkPool;
  readonly #ownsPool: boolean;
  readonly #type: string;
  readonly #retry: { attempts: number; baseMs: number; maxMs: number };
  readonly #timeoutMs: number;
  readonly #maxBatch: number;
  #dimensions: number | undefined;

  /**
   * @throws TypeError/RangeError naming a bad or unknown option; RangeError when
   *   `pool`'s `type` does not run one job at a time.
   */
  constructor(options: OllamaEmbedderOptions) {
    const given = checkOptions('OllamaEmbedder options', options, OPTIONS);
    this.#url = new URL('api/embed', `${httpBase(given['baseUrl'])}/`).href;
    this.model = nonEmptyString('model', given['model']);
    this.#dimensions =
      given['dimensions'] === undefined ? undefined : integer('dimensions', given['dimensions'], 1);
    this.#type = nonEmptyString('type', given['type'] ?? 'embed');
    const retry = checkOptions('retry', given['retry'] ?? {}, ['attempts', 'baseMs', 'maxMs']);
    this.#retry = {
      attempts: integer('retry.attempts', retry['attempts'] ?? 6, 1),
      baseMs: duration('retry.baseMs', retry['baseMs'] ?? 250),
      maxMs: duration('retry.maxMs', retry['maxMs'] ?? 8000),
    };
    this.#timeoutMs = duration('timeoutMs', given['timeoutMs'] ?? 120_000, 1);
    this.#maxBatch = integer('maxBatch', given['maxBatch'] ?? 32, 1);
    const pool = given['pool'];
    if (pool === undefined) {
      const rate = (given['rate'] as RateLimit | undefined) ?? OLLAMA_EMBED_TYPE.rate;
      this.#pool = new WorkPool({
        concurrency: 1,
        types: { [this.#type]: { concurrency: 1, rate } },
      });
      this.#ownsPool = true;
      return;
    }
    if (!(pool instanceof WorkPool)) {
      throw new TypeError('pool must be a WorkPool');
    }
    if (given['rate'] !== undefined) {
      throw new TypeError(
        'rate applies to the embedder’s own pool only; set the rate on the job type of the pool you pass',
      );
    }
    const limit = pool.load(this.#type).limit;
    if (limit !== 1) {
      throw new RangeError(
        `pool type '${this.#type}' must run one job at a time (Ollama serves one request at a time), got concurrency ${limit}`,
      );
    }
    this.#pool = pool;
    this.#ownsPool = false;
  }

  /** The vector length: the `dimensions` option, else that of the first answer. */
  get dimensions(): number | undefined {
    return this.#dimensions;
  }

  /**
   * One vector per text, asked in requests of at most `maxBatch` texts, one after the
   * other. Waits for the pool's `embed` slot and for the server.
   * @throws (as a rejection) TypeError for bad arguments; {@link EmbedError}; an abort
   *   error when `signal` aborts (the request in progress is closed); `ClosedError` if
   *   the pool closes; `TimeoutError` when a request outlasts `timeoutMs` (not retried).
   */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const signal = abortOptions('embed options', options);
    checkTexts(texts);
    throwIfAborted(signal);
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.#maxBatch) {
      const batch = texts.slice(i, i + this.#maxBatch);
      const answer = await this.#pool.run<Float32Array[]>(
        this.#type,
        ({ signal: jobSignal }) => this.#request(batch, jobSignal),
        {
          signal,
          timeoutMs: this.#timeoutMs,
          retry: {
            ...this.#retry,
            retryIf: (error) => error instanceof EmbedError && error.reason === 'busy',
          },
        },
      );
      vectors.push(...answer);
    }
    return vectors;
  }

  /**
   * Closes the embedder's own pool (a request in progress is aborted after `graceMs`);
   * with a pool that was passed in, does nothing to it. A second call does nothing more.
   */
  async close(options: { readonly graceMs?: number | undefined } = {}): Promise<void> {
    const given = checkOptions('close options', options, ['graceMs']);
    const graceMs = duration('graceMs', given['graceMs'] ?? 0);
    if (this.#ownsPool) await this.#pool.close({ graceMs, drain: false }).then(ignore);
  }

  async #request(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    let status = 0;
    try {
      const response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ model: this.model, input: texts }),
        signal,
      });
      status = response.status;
      const body = await response.text();
      if (!response.ok) throw this.#httpError(response.status, body);
      return this.#vectors(body, texts.length);
    } catch (error) {
      if (signal.aborted) throw abortErrorOf(signal);
      if (error instanceof EmbedError) throw error;
      if (status !== 0) {
        throw new EmbedError(
          `${this.model}: the answer from ${this.#url} broke off (HTTP ${status})`,
          { reason: 'bad-response', model: this.model, status, cause: error },
        );
      }
      throw new EmbedError(`${this.model}: cannot reach ${this.#url} (${networkCode(error)})`, {
        reason: 'unreachable',
        model: this.model,
        cause: error,
      });
    }
  }

  #httpError(status: number, body: string): EmbedError {
    const said = ollamaMessage(body);
    const detail = said === undefined ? '' : `: ${said}`;
    if (status === 503) {
      return new EmbedError(`${this.model}: ${this.#url} is busy (HTTP 503)${detail}`, {
        reason: 'busy',
        model: this.model,
        status,
      });
    }
    return new EmbedError(`${this.model}: ${this.#url} answered HTTP ${status}${detail}`, {
      reason: 'http',
      model: this.model,
      status,
    });
  }

  #vectors(body: string, count: number): Float32Array[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      throw this.#badResponse(`something that is not JSON: ${excerpt(body)}`, error);
    }
    const embeddings = (parsed as { embeddings?: unknown } | null)?.embeddings;
    if (!Array.isArray(embeddings) || embeddings.length !== count) {
      throw this.#badResponse(
        `${Array.isArray(embeddings) ? `${embeddings.length} embeddings` : 'no embeddings array'} for ${count} texts: ${excerpt(body)}`,
      );
    }
    return embeddings.map((embedding: unknown, i) => {
      if (!Array.isArray(embedding) || !embedding.every((x) => Number.isFinite(x))) {
        throw this.#badResponse(`embeddings[${i}] that is not an array of finite numbers`);
      }
      const expected = this.#dimensions ?? embedding.length;
      if (embedding.length !== expected || expected === 0) {
        throw new EmbedError(
          `${this.model} answered a vector of ${embedding.length} numbers, expected ${expected}`,
          { reason: 'dimensions', model: this.model },
        );
      }
      this.#dimensions = expected;
      return Float32Array.from(embedding as number[]);
    });
  }

  #badResponse(what: string, cause?: unknown): EmbedError {
    return new EmbedError(`${this.model}: ${this.#url} answered ${what}`, {
      reason: 'bad-response',
      model: this.model,
      cause,
    });
  }
}

function httpBase(value: unknown): string {
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new TypeError(`baseUrl must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  return url.href.replace(/\/+$/, '');
}

/** Ollama's own words: its errors are `{ "error": "…" }`. */
function ollamaMessage(body: string): string | undefined {
  try {
    const error = (JSON.parse(body) as { error?: unknown } | null)?.error;
    if (typeof error === 'string') return error;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.trim() === '' ? undefined : excerpt(body);
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 80)}…` : flat);
}

/** undici says "fetch failed" and keeps the reason (ECONNREFUSED, …) in `cause`. */
function networkCode(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : String(cause);
}

function ignore(_: CloseReport): void {}

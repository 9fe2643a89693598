import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import {
  CachedEmbedder,
  HashingEmbedder,
  cosineSimilarity,
  type Embedder,
  type EmbedOptions,
} from '../../../src/feed/embed/embedder.js';

const SEED = 20261130;
const words = fc.array(fc.stringMatching(/^[a-z]{2,9}$/), { minLength: 1, maxLength: 40 });

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

describe('HashingEmbedder', () => {
  it('gives each text a deterministic unit vector of the configured length', async () => {
    const a = new HashingEmbedder({ dimensions: 64 });
    const b = new HashingEmbedder({ dimensions: 64 });
    await fc.assert(
      fc.asyncProperty(words, async (w) => {
        const text = w.join(' ');
        const [va] = await a.embed([text]);
        const [vb] = await b.embed([text]);
        expect(va).toHaveLength(64);
        expect(va).toEqual(vb);
        expect(norm(va as Float32Array)).toBeCloseTo(1, 5);
      }),
      { seed: SEED, numRuns: 200 },
    );
    expect(a.model).toBe('workbus-hashing-64');
    expect(new HashingEmbedder().dimensions).toBe(256);
  });

  it('gives an empty text the zero vector, and similar texts a higher cosine than unrelated ones', async () => {
    const e = new HashingEmbedder();
    const [empty, story, edited, other] = await e.embed([
      '',
      'NASA launches the Artemis rocket to the Moon after weeks of delays',
      'NASA launches its Artemis rocket to the Moon after weeks of delay',
      'Apple releases a new laptop with a faster chip and a longer battery life',
    ]);
    expect(norm(empty as Float32Array)).toBe(0);
    const near = cosineSimilarity(story as Float32Array, edited as Float32Array);
    const far = cosineSimilarity(story as Float32Array, other as Float32Array);
    expect(near).toBeGreaterThan(0.6);
    expect(far).toBeLessThan(0.3);
    expect(cosineSimilarity(empty as Float32Array, story as Float32Array)).toBe(0);
  });

  it('refuses bad options and texts, naming them', async () => {
    expect(() => new HashingEmbedder({ dimension: 8 } as never)).toThrow(
      /unknown option 'dimension'; did you mean 'dimensions'/,
    );
    expect(() => new HashingEmbedder({ dimensions: 4 })).toThrow(
      /dimensions must be an integer from 8 to 65536, got 4/,
    );
    await expect(new HashingEmbedder().embed(['a', 3] as never)).rejects.toThrow(
      /texts\[1\] must be a string, got number/,
    );
    await expect(new HashingEmbedder().embed('a' as never)).rejects.toThrow(TypeError);
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(new HashingEmbedder().embed(['a'], { signal: aborted })).rejects.toSatisfy(
      isAbortError,
    );
  });
});

interface Call {
  readonly texts: readonly string[];
  readonly signal: AbortSignal;
  release(): void;
  fail(error: unknown): void;
}

/** An inner embedder whose calls wait until the test releases them. */
class GatedEmbedder implements Embedder {
  readonly model = 'gated';
  readonly dimensions = 8;
  readonly calls: Call[] = [];
  readonly #real = new HashingEmbedder({ dimensions: 8 });

  embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const signal = options.signal as AbortSignal;
    return new Promise((resolve, reject) => {
      this.calls.push({
        texts: [...texts],
        signal,
        release: () => void this.#real.embed(texts).then(resolve, reject),
        fail: reject,
      });
    });
  }

  /** Lets every call made so far answer. */
  releaseAll(): void {
    for (const c of this.calls) c.release();
  }
}

/** Lets queued microtasks (the flights' starts and the batch flush) run. */
async function ticks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('CachedEmbedder', () => {
  it('never embeds identical text twice: the cache answers, and a batch holds each text once', async () => {
    const inner = new GatedEmbedder();
    const cached = new CachedEmbedder(inner);
    const first = cached.embed(['a b', 'c d', 'a b']);
    const second = cached.embed(['c d', 'e f']);
    await ticks();
    expect(inner.calls.map((c) => c.texts)).toEqual([['a b', 'c d', 'e f']]);
    inner.releaseAll();
    const [v1, v2] = await Promise.all([first, second]);
    expect(v1[0]).toEqual(v1[2]);
    expect(v1[1]).toEqual(v2[0]);
    const again = await cached.embed(['e f', 'a b']);
    expect(again).toEqual([v2[1], v1[0]]);
    expect(inner.calls).toHaveLength(1);
    expect(cached.misses).toBe(3);
    expect(cached.size).toBe(3);
  });

  it('hands each caller its own copy', async () => {
    const cached = new CachedEmbedder(new HashingEmbedder());
    const [v] = await cached.embed(['story']);
    (v as Float32Array).fill(7);
    const [w] = await cached.embed(['story']);
    expect(norm(w as Float32Array)).toBeCloseTo(1, 5);
  });

  it("one caller's abort never fails another caller of the same text", async () => {
    const inner = new GatedEmbedder();
    const cached = new CachedEmbedder(inner);
    const quitter = new AbortController();
    const quitting = cached.embed(['shared'], { signal: quitter.signal });
    const staying = cached.embed(['shared'], { signal: new AbortController().signal });
    await ticks();
    expect(inner.calls).toHaveLength(1);
    quitter.abort(new Error('user left'));
    await expect(quitting).rejects.toSatisfy(isAbortError);
    expect(inner.calls[0]?.signal.aborted).toBe(false);
    inner.releaseAll();
    const [vector] = await staying;
    expect(vector).toHaveLength(8);
  });

  it('aborts the inner request once every caller of its texts has given up', async () => {
    const inner = new GatedEmbedder();
    const cached = new CachedEmbedder(inner);
    const a = new AbortController();
    const b = new AbortController();
    const pa = cached.embed(['x'], { signal: a.signal });
    const pb = cached.embed(['y'], { signal: b.signal });
    await ticks();
    expect(inner.calls.map((c) => c.texts)).toEqual([['x', 'y']]);
    a.abort();
    expect(inner.calls[0]?.signal.aborted).toBe(false);
    b.abort();
    expect(inner.calls[0]?.signal.aborted).toBe(true);
    await expect(pa).rejects.toSatisfy(isAbortError);
    await expect(pb).rejects.toSatisfy(isAbortError);
    // A later caller starts afresh.
    const pc = cached.embed(['x']);
    await ticks();
    expect(inner.calls).toHaveLength(2);
    inner.calls[1]?.release();
    await expect(pc).resolves.toHaveLength(1);
  });

  it('passes the inner failure to every caller, and caches nothing from it', async () => {
    const inner = new GatedEmbedder();
    const cached = new CachedEmbedder(inner);
    const p1 = cached.embed(['x']);
    const p2 = cached.embed(['x', 'y']);
    await ticks();
    const boom = new Error('model crashed');
    inner.calls[0]?.fail(boom);
    await expect(p1).rejects.toBe(boom);
    await expect(p2).rejects.toBe(boom);
    expect(cached.size).toBe(0);
  });

  it('splits a large miss set into batches of maxBatch', async () => {
    const inner = new GatedEmbedder();
    const cached = new CachedEmbedder(inner, { maxBatch: 2 });
    const p = cached.embed(['a', 'b', 'c', 'd', 'e']);
    await ticks();
    expect(inner.calls.map((c) => c.texts)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    inner.releaseAll();
    await expect(p).resolves.toHaveLength(5);
  });

  it('stays within maxEntries and maxBytes whatever is asked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.stringMatching(/^[a-e]{1,3}$/), { maxLength: 6 }), {
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 8 }),
        async (calls, maxEntries) => {
          const maxBytes = 3 * (8 * 4 + 200);
          const cached = new CachedEmbedder(new HashingEmbedder({ dimensions: 8 }), {
            maxEntries,
            maxBytes,
          });
          for (const texts of calls) {
            const vectors = await cached.embed(texts);
            expect(vectors).toHaveLength(texts.length);
            expect(cached.size).toBeLessThanOrEqual(Math.min(maxEntries, 3));
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('refuses bad options, naming them', () => {
    const inner = new HashingEmbedder();
    expect(() => new CachedEmbedder(inner, { max: 3 } as never)).toThrow(/unknown option 'max'/);
    expect(() => new CachedEmbedder(inner, { maxEntries: 0 })).toThrow(
      /maxEntries must be a positive integer, got 0/,
    );
    expect(() => new CachedEmbedder({} as never)).toThrow(/inner must be an Embedder/);
  });
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import { EmbedError } from '../../../src/errors.js';
import { CachedEmbedder } from '../../../src/feed/embed/embedder.js';
import {
  OLLAMA_EMBED_TYPE,
  OllamaEmbedder,
  type OllamaEmbedderOptions,
} from '../../../src/feed/embed/ollama-embedder.js';
import { WorkPool } from '../../../src/pool/work-pool.js';
import { closeServer, lastServer, serve } from '../../helpers/http.js';

const FAST = { limit: 1000, intervalMs: 1000 };
const QUICK_RETRY = { attempts: 4, baseMs: 1, maxMs: 2 };

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

function embedder(options: OllamaEmbedderOptions): OllamaEmbedder {
  const e = new OllamaEmbedder(options);
  open.push(e);
  return e;
}

interface EmbedRequest {
  readonly model: string;
  readonly input: string[];
}

/** A fake Ollama: answers each text with [length, first char code, 1], after `answer` lets it. */
class FakeOllama {
  readonly requests: EmbedRequest[] = [];
  openNow = 0;
  maxOpen = 0;
  closedEarly = 0;
  /** Decides each answer; the default is a 200 with one vector per text. */
  answer: (request: EmbedRequest, response: ServerResponse, n: number) => void = (
    request,
    response,
  ) => {
    json(response, 200, { model: request.model, embeddings: request.input.map(vector) });
  };

  readonly handler = (req: IncomingMessage, response: ServerResponse): void => {
    this.openNow++;
    this.maxOpen = Math.max(this.maxOpen, this.openNow);
    response.on('close', () => {
      this.openNow--;
      if (!response.writableFinished) this.closedEarly++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/api/embed');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as EmbedRequest;
      this.requests.push(body);
      // Answer in a later turn, so concurrent callers would overlap if nothing serialised them.
      setImmediate(() => this.answer(body, response, this.requests.length));
    });
  };
}

function vector(text: string): number[] {
  return [text.length, text.charCodeAt(0) || 0, 1];
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function fake(): Promise<{ ollama: FakeOllama; baseUrl: string }> {
  const ollama = new FakeOllama();
  const baseUrl = await serve(ollama.handler);
  return { ollama, baseUrl };
}

describe('OllamaEmbedder against a fake Ollama on loopback', () => {
  it('posts { model, input } in batches of maxBatch and returns the vectors in order', async () => {
    const { ollama, baseUrl } = await fake();
    const e = embedder({ baseUrl, model: 'all-minilm', maxBatch: 2, rate: FAST });
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await e.embed(texts);
    expect(ollama.requests).toEqual([
      { model: 'all-minilm', input: ['a', 'bb'] },
      { model: 'all-minilm', input: ['ccc', 'dddd'] },
      { model: 'all-minilm', input: ['eeeee'] },
    ]);
    expect(vectors.map((v) => [...v])).toEqual(texts.map(vector));
    expect(vectors[0]).toBeInstanceOf(Float32Array);
    expect(e.dimensions).toBe(3);
  });

  it('never has more than one request open, whoever calls', async () => {
    const { ollama, baseUrl } = await fake();
    const e = embedder({ baseUrl, model: 'm', maxBatch: 3, rate: FAST });
    const calls = Array.from({ length: 12 }, (_, i) =>
      e.embed(Array.from({ length: 1 + (i % 5) }, (_, j) => `text ${i} ${j}`)),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.length)).toEqual(Array.from({ length: 12 }, (_, i) => 1 + (i % 5)));
    expect(ollama.requests.length).toBeGreaterThan(12);
    expect(ollama.maxOpen).toBe(1);
  });

  it('shares the embed slot of an app pool with other callers of that type', async () => {
    const { ollama, baseUrl } = await fake();
    const pool = new WorkPool({
      concurrency: 4,
      types: { embed: { ...OLLAMA_EMBED_TYPE, rate: FAST }, fetch: { concurrency: 3 } },
    });
    open.push(pool);
    const a = embedder({ baseUrl, model: 'a', pool });
    const b = new CachedEmbedder(embedder({ baseUrl, model: 'b', pool }));
    await Promise.all([
      a.embed(['one', 'two']),
      b.embed(['three']),
      a.embed(['four']),
      b.embed(['five', 'three']),
    ]);
    expect(ollama.maxOpen).toBe(1);
    expect(ollama.requests.flatMap((r) => r.input).sort()).toEqual(
      ['five', 'four', 'one', 'three', 'two'].sort(),
    );
  });

  it('closes its HTTP request when the caller aborts (the server sees the socket close)', async () => {
    const { ollama, baseUrl } = await fake();
    let arrived!: () => void;
    const request = new Promise<void>((resolve) => (arrived = resolve));
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    ollama.answer = (_request, response) => {
      response.on('close', () => closed());
      arrived(); // and never answer
    };
    const e = embedder({ baseUrl, model: 'm', rate: FAST });
    const controller = new AbortController();
    const call = e.embed(['slow'], { signal: controller.signal });
    await request;
    controller.abort(new Error('user closed the window'));
    await expect(call).rejects.toSatisfy(isAbortError);
    await serverSawClose;
    expect(ollama.closedEarly).toBe(1);
    // The slot is free again: the next call goes through.
    ollama.answer = new FakeOllama().answer;
    await expect(e.embed(['next'])).resolves.toHaveLength(1);
  });

  it('retries 503 (busy, loading a model) with backoff, then succeeds', async () => {
    const { ollama, baseUrl } = await fake();
    const ok = ollama.answer;
    ollama.answer = (request, response, n) => {
      if (n <= 2) json(response, 503, { error: 'server busy, please try again' });
      else ok(request, response, n);
    };
    const e = embedder({ baseUrl, model: 'm', rate: FAST, retry: QUICK_RETRY });
    await expect(e.embed(['x'])).resolves.toEqual([Float32Array.from(vector('x'))]);
    expect(ollama.requests).toHaveLength(3);
  });

  it('gives up on a server busy through every attempt with EmbedError busy', async () => {
    const { ollama, baseUrl } = await fake();
    ollama.answer = (_request, response) => json(response, 503, { error: 'loading model' });
    const e = embedder({ baseUrl, model: 'm', rate: FAST, retry: QUICK_RETRY });
    const error = (await e.embed(['x']).catch((err: unknown) => err)) as EmbedError;
    expect(error).toBeInstanceOf(EmbedError);
    expect(error).toMatchObject({ code: 'EMBED_FAILED', reason: 'busy', status: 503 });
    expect(error.message).toContain('loading model');
    expect(ollama.requests).toHaveLength(4);
  });

  it('reports other HTTP errors at once, with Ollama’s own message', async () => {
    const { ollama, baseUrl } = await fake();
    ollama.answer = (_request, response) =>
      json(response, 404, { error: 'model "nomic" not found, try pulling it first' });
    const e = embedder({ baseUrl, model: 'nomic', rate: FAST, retry: QUICK_RETRY });
    await expect(e.embed(['x'])).rejects.toMatchObject({
      reason: 'http',
      status: 404,
      model: 'nomic',
      message: expect.stringContaining('model "nomic" not found') as string,
    });
    expect(ollama.requests).toHaveLength(1);
  });

  it('reports a refused connection as unreachable, naming the code', async () => {
    const { baseUrl } = await fake();
    await closeServer(lastServer());
    const e = embedder({ baseUrl, model: 'm', rate: FAST });
    await expect(e.embed(['x'])).rejects.toMatchObject({
      reason: 'unreachable',
      message: expect.stringContaining('ECONNREFUSED') as string,
    });
  });

  it('reports an answer that is not JSON, or not the expected shape, as bad-response', async () => {
    const { ollama, baseUrl } = await fake();
    const e = embedder({ baseUrl, model: 'm', rate: FAST });
    ollama.answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>captive portal</html>');
    };
    await expect(e.embed(['x'])).rejects.toMatchObject({
      reason: 'bad-response',
      message: expect.stringContaining('not JSON: "<html>captive portal</html>"') as string,
    });
    ollama.answer = (_request, response) => json(response, 200, { embeddings: [[1, 2]] });
    await expect(e.embed(['x', 'y'])).rejects.toMatchObject({
      reason: 'bad-response',
      message: expect.stringContaining('1 embeddings for 2 texts') as string,
    });
    ollama.answer = (_request, response) => json(response, 200, { embeddings: [[1, 'a']] });
    await expect(e.embed(['x'])).rejects.toMatchObject({ reason: 'bad-response' });
  });

  it('reports vectors of the wrong length as dimensions', async () => {
    const { ollama, baseUrl } = await fake();
    const fixed = embedder({ baseUrl, model: 'm', rate: FAST, dimensions: 4 });
    await expect(fixed.embed(['x'])).rejects.toMatchObject({
      reason: 'dimensions',
      message: 'm answered a vector of 3 numbers, expected 4',
    });
    // Without the option, the first answer sets the length and later ones must keep it.
    const learned = embedder({ baseUrl, model: 'm', rate: FAST });
    await learned.embed(['x']);
    ollama.answer = (_request, response) => json(response, 200, { embeddings: [[1, 2]] });
    await expect(learned.embed(['y'])).rejects.toMatchObject({ reason: 'dimensions' });
  });

  it('refuses bad options, naming them', () => {
    expect(() => new OllamaEmbedder({ baseUrl: 'ftp://x', model: 'm' })).toThrow(
      /baseUrl must be an absolute http\(s\) URL, got "ftp:\/\/x"/,
    );
    expect(() => new OllamaEmbedder({ baseUrl: 'http://x', model: '' })).toThrow(
      /model must be a non-empty string/,
    );
    expect(
      () => new OllamaEmbedder({ baseUrl: 'http://x', model: 'm', batch: 3 } as never),
    ).toThrow(/unknown option 'batch'/);
    const pool = new WorkPool({ concurrency: 2, types: { embed: { concurrency: 2 } } });
    open.push(pool);
    expect(() => new OllamaEmbedder({ baseUrl: 'http://x', model: 'm', pool })).toThrow(
      /pool type 'embed' must run one job at a time .* got concurrency 2/,
    );
    expect(
      () => new OllamaEmbedder({ baseUrl: 'http://x', model: 'm', pool, type: 'gpu' }),
    ).toThrow(TypeError);
  });
});

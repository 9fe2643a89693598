/**
 * Dedup: SimHash cost per item (halves vs a bigint per fingerprint), and `DedupIndex.check`
 * throughput at 10k and 100k entries, against a scan of every fingerprint (what the
 * 4×16-bit blocks avoid) and with embeddings (which are scanned). Printed, not asserted.
 * `npx tsx bench/dedup.ts`, or with the others through `npm run bench`.
 */
import { pathToFileURL } from 'node:url';
import { DedupIndex, type DedupCandidate } from '../src/feed/dedup/dedup-index.js';
import { halvesDistance, simhash, simhashHalves, type Halves } from '../src/feed/dedup/simhash.js';
import { HashingEmbedder } from '../src/feed/embed/embedder.js';
import { measure, printTable } from './harness.js';

/** A fixed-seed generator, so every run measures the same texts. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VOCABULARY = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);

function stories(count: number, seed: number): DedupCandidate[] {
  const next = random(seed);
  const words = (n: number): string =>
    Array.from(
      { length: n },
      () => VOCABULARY[Math.floor(next() ** 2 * VOCABULARY.length)] as string,
    ).join(' ');
  return Array.from({ length: count }, (_, i) => ({
    id: `s${seed}-${i}`,
    guid: `guid-${seed}-${i}`,
    title: words(8),
    summary: words(50),
  }));
}

async function filled(entries: number, embedder?: HashingEmbedder): Promise<DedupIndex> {
  const index = new DedupIndex({ maxEntries: entries, ...(embedder ? { embedder } : {}) });
  for (const s of stories(entries, 1)) await index.add(s);
  return index;
}

export async function benchDedup(scale = 1): Promise<void> {
  const texts = stories(Math.round(20_000 * scale), 2).map((s) => `${s.title}\n${s.summary}`);
  printTable(
    'SimHash of one item (8-word title + 50-word summary)',
    await measure(
      [
        {
          name: 'simhashHalves (two uint32)',
          run: (ops) => {
            for (let i = 0; i < ops; i++) simhashHalves(texts[i % texts.length] as string);
            return Promise.resolve();
          },
        },
        {
          name: 'simhash (bigint)',
          run: (ops) => {
            for (let i = 0; i < ops; i++) simhash(texts[i % texts.length] as string);
            return Promise.resolve();
          },
        },
      ],
      texts.length,
    ),
    'items/s',
  );

  for (const entries of [10_000, 100_000].map((n) => Math.round(n * scale))) {
    const index = await filled(entries);
    const probes = stories(2000, 3);
    const fingerprints: Halves[] = stories(entries, 1).map((s) =>
      simhashHalves(`${s.title}\n${s.summary}`),
    );
    const probePrints = probes.map((s) => simhashHalves(`${s.title}\n${s.summary}`));
    let sink = 0;
    printTable(
      `DedupIndex.check, ${entries.toLocaleString('en-US')} entries (new items: the slow case)`,
      await measure(
        [
          {
            name: 'check (4×16-bit blocks)',
            run: async (ops) => {
              for (let i = 0; i < ops; i++)
                await index.check(probes[i % probes.length] as DedupCandidate);
            },
          },
          {
            name: 'a scan of every fingerprint',
            run: (ops) => {
              for (let i = 0; i < ops; i++) {
                const p = probePrints[i % probePrints.length] as Halves;
                for (const f of fingerprints) if (halvesDistance(p, f) <= 3) sink++;
              }
              return Promise.resolve();
            },
          },
        ],
        Math.min(2000, Math.round(2_000_000 / entries)),
        3,
      ),
      'checks/s',
    );
    if (sink < 0) console.log(sink);
  }

  const entries = Math.round(10_000 * scale);
  const embedded = await filled(entries, new HashingEmbedder());
  const probes = stories(200, 4);
  printTable(
    `DedupIndex.check with HashingEmbedder (256 dims), ${entries.toLocaleString('en-US')} entries`,
    await measure(
      [
        {
          name: 'check (embeddings scanned)',
          run: async (ops) => {
            for (let i = 0; i < ops; i++)
              await embedded.check(probes[i % probes.length] as DedupCandidate);
          },
        },
      ],
      200,
      3,
    ),
    'checks/s',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchDedup(Number(process.env.BENCH_SCALE ?? '1'));
}

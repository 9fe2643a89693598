/**
 * A producer/consumer pipeline over Channels, with Semaphore-limited stages and a
 * cancel half-way:
 *
 *   producer ──urls──▶ 4 fetchers (≤ 3 on the network at once) ──pages──▶ 2 parsers (≤ 1 on the CPU)
 *
 * Half-way through, the consumer aborts the shared signal. Every stage stops at its
 * next wait, and the report accounts for every item: done, cancelled in flight, or
 * still queued — nothing is lost silently.
 *
 * Run: `npm run demo`.
 */
import { fileURLToPath } from 'node:url';
import { Channel, Semaphore, isAbortError, sleep, type ChannelStats } from 'workbus';

export interface PipelineOptions {
  /** Items the producer offers. @default 40 */
  readonly items?: number;
  /** Abort after this many items are parsed. @default items / 2 */
  readonly cancelAfter?: number;
  /** Where progress lines go. @default console.log */
  readonly log?: (line: string) => void;
}

export interface PipelineReport {
  readonly produced: number;
  readonly fetched: number;
  readonly parsed: number;
  readonly cancelledFetching: number;
  readonly cancelledParsing: number;
  readonly leftInUrls: number;
  readonly leftInPages: number;
  readonly maxOnNetwork: number;
  readonly maxOnCpu: number;
  readonly urls: ChannelStats;
  readonly pages: ChannelStats;
}

interface Page {
  readonly id: number;
  readonly body: string;
}

export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
  const items = options.items ?? 40;
  const cancelAfter = options.cancelAfter ?? Math.floor(items / 2);
  const log = options.log ?? console.log;
  const controller = new AbortController();
  const { signal } = controller;

  const urls = new Channel<number>({ capacity: 8 });
  const pages = new Channel<Page>({ capacity: 4 });
  const network = new Semaphore(3, { name: 'network' });
  const cpu = new Semaphore(1, { name: 'cpu' });

  let produced = 0;
  let fetched = 0;
  let parsed = 0;
  let cancelledFetching = 0;
  let cancelledParsing = 0;
  let onNetwork = 0;
  let maxOnNetwork = 0;
  let onCpu = 0;
  let maxOnCpu = 0;

  const producer = async (): Promise<void> => {
    try {
      for (let id = 0; id < items; id++) {
        await urls.send(id, { signal });
        produced++;
      }
    } catch (error) {
      if (!isAbortError(error)) throw error;
      log(`producer: stopped after ${produced} items (${String(signal.reason)})`);
    } finally {
      urls.close();
    }
  };

  const fetcher = async (): Promise<void> => {
    for (;;) {
      let id: number;
      try {
        id = await urls.receive({ signal });
      } catch {
        return; // closed and drained, or aborted: either way this fetcher is done
      }
      try {
        const body = await network.run(
          async () => {
            maxOnNetwork = Math.max(maxOnNetwork, ++onNetwork);
            try {
              await sleep(4 + (id % 5), { signal });
              return `<item ${id}>`;
            } finally {
              onNetwork--;
            }
          },
          { signal },
        );
        await pages.send({ id, body }, { signal });
        fetched++; // counted once handed on: a hand-off cut short by the cancel counts as cancelled
      } catch (error) {
        if (!isAbortError(error)) throw error;
        cancelledFetching++;
      }
    }
  };

  const parser = async (): Promise<void> => {
    for (;;) {
      let page: Page;
      try {
        page = await pages.receive({ signal });
      } catch {
        return;
      }
      try {
        await cpu.run(
          async () => {
            maxOnCpu = Math.max(maxOnCpu, ++onCpu);
            try {
              await sleep(2, { signal });
            } finally {
              onCpu--;
            }
          },
          { signal },
        );
        parsed++;
        if (parsed === cancelAfter) {
          log(`consumer: ${parsed} parsed (last: ${page.body}), cancelling the rest`);
          controller.abort(new Error('stop requested half-way'));
        }
      } catch (error) {
        if (!isAbortError(error)) throw error;
        cancelledParsing++;
      }
    }
  };

  log(`pipeline: ${items} items, 4 fetchers sharing 3 network slots, 2 parsers sharing 1 CPU slot`);
  const fetchers = Promise.all([fetcher(), fetcher(), fetcher(), fetcher()]).finally(() =>
    pages.close(),
  );
  await Promise.all([producer(), fetchers, parser(), parser()]);

  return {
    produced,
    fetched,
    parsed,
    cancelledFetching,
    cancelledParsing,
    leftInUrls: urls.size,
    leftInPages: pages.size,
    maxOnNetwork,
    maxOnCpu,
    urls: urls.stats,
    pages: pages.stats,
  };
}

export function printReport(report: PipelineReport): void {
  console.log(`
produced            ${report.produced}
fetched             ${report.fetched}   (cancelled while fetching: ${report.cancelledFetching})
parsed              ${report.parsed}   (cancelled while parsing: ${report.cancelledParsing})
still queued        ${report.leftInUrls} urls, ${report.leftInPages} pages (never started; reported, not lost)
peak concurrency    network ${report.maxOnNetwork}/3, cpu ${report.maxOnCpu}/1
channel urls        ${JSON.stringify(report.urls)}
channel pages       ${JSON.stringify(report.pages)}
accounted for       ${report.produced} = ${report.fetched} fetched + ${report.cancelledFetching} cancelled + ${report.leftInUrls} queued`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printReport(await runPipeline());
}

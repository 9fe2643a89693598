/**
 * What the CLI shows while feeds are fetched: on a terminal, one status line redrawn in
 * place (per pool type running/queued, feeds done, items stored, duplicates dropped); to a
 * pipe or a file, one plain line per feed as it ends, which logs and tests can read.
 */
import type { FetchReport } from '../feed/fetch/fetch-controller.js';
import type { WorkPool } from '../pool/work-pool.js';
import { after, type Timer } from '../internal/timer.js';

/** Where the CLI writes. */
export interface Output {
  readonly write: (text: string) => void;
  /** A terminal: redraw in place. Otherwise, plain lines. */
  readonly isTTY: boolean;
}

/** Totals over the reports seen so far. */
export interface Totals {
  feeds: number;
  stored: number;
  notModified: number;
  failed: number;
  skipped: number;
  /** Fetches whose job an operator cancelled (from the dashboard). */
  cancelled: number;
  retryLater: number;
  added: number;
  updated: number;
  /** Items the filters (`--exclude`) dropped. */
  filtered: number;
  duplicates: number;
}

export class Progress {
  readonly #out: Output;
  readonly #pool: WorkPool;
  readonly #expected: number;
  readonly #names: ReadonlyMap<number, string>;
  readonly totals: Totals = totalsOf([]);
  #timer: Timer | undefined;

  /** @param names a feed's name by id, for the lines. */
  constructor(out: Output, pool: WorkPool, expected: number, names: ReadonlyMap<number, string>) {
    this.#out = out;
    this.#pool = pool;
    this.#expected = expected;
    this.#names = names;
    if (out.isTTY) this.#tick();
  }

  /** Counts one ended fetch, and says so on a plain output. */
  add(report: FetchReport): void {
    count(this.totals, report);
    if (!this.#out.isTTY) this.#out.write(`${reportLine(report, this.#names)}\n`);
  }

  /** Stops redrawing and clears the status line. */
  end(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    if (this.#out.isTTY) this.#out.write('\r\x1b[2K');
  }

  #tick(): void {
    this.#out.write(`\r\x1b[2K${this.#status()}`);
    this.#timer = after(150, () => this.#tick(), { unref: true });
  }

  #status(): string {
    const type = (name: string): string => {
      const load = this.#pool.load(name);
      const held = load.heldByRate ? ' (rate)' : '';
      return `${name} ${load.running}/${load.limit} running, ${load.queued} queued${held}`;
    };
    const t = this.totals;
    return `${type('fetch')} · ${type('parse')} · feeds ${t.feeds}/${this.#expected} · items +${t.added} · duplicates ${t.duplicates}`;
  }
}

/** The totals of `reports`. */
export function totalsOf(reports: Iterable<FetchReport>): Totals {
  const totals: Totals = {
    feeds: 0,
    stored: 0,
    notModified: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
    retryLater: 0,
    added: 0,
    updated: 0,
    filtered: 0,
    duplicates: 0,
  };
  for (const report of reports) count(totals, report);
  return totals;
}

function count(t: Totals, report: FetchReport): void {
  t.feeds++;
  t.added += report.added;
  t.updated += report.updated;
  t.filtered += report.filtered;
  t.duplicates += report.duplicates;
  if (report.outcome === 'stored') t.stored++;
  else if (report.outcome === 'not-modified') t.notModified++;
  else if (report.outcome === 'failed') t.failed++;
  else if (report.outcome === 'skipped') t.skipped++;
  else if (report.outcome === 'cancelled') t.cancelled++;
  else t.retryLater++;
}

const MARKS: Readonly<Record<FetchReport['outcome'], string>> = {
  stored: 'stored',
  'not-modified': '304',
  'retry-later': 'later',
  skipped: 'skipped',
  cancelled: 'cancel',
  failed: 'FAILED',
};

/** One ended fetch in a line: outcome, counts, the feed, and why when it failed. */
export function reportLine(report: FetchReport, names: ReadonlyMap<number, string>): string {
  const name = names.get(report.feedId) ?? report.url;
  const filtered = report.filtered > 0 ? ` (${report.filtered} filtered out)` : '';
  const counts =
    report.outcome === 'stored' ? ` +${report.added} ~${report.updated}${filtered}` : '';
  const why = report.error === undefined ? '' : ` — ${report.error}`;
  return `${MARKS[report.outcome].padEnd(7)} ${name}${counts}${why}`;
}

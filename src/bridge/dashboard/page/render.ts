/**
 * The dashboard's DOM: each render replaces the rows of the page's tables from a
 * {@link DashboardView}. Text goes in as text (`textContent`), never as markup: job notes,
 * errors and keys come from the host's jobs, and a feed's title is not to run as script.
 */
import type { SubscriberView } from '../../../bus/event-bus.js';
import { formatDuration, type DashboardView, type JobRow } from '../view-model.js';

/** What the page's buttons ask for; `data-action` names it, `data-arg` carries its argument. */
export type DashboardAction = 'cancel' | 'retry' | 'pause' | 'resume';

type Cell = string | number | Node;

function el(tag: string, attrs: Record<string, string> = {}, ...children: Cell[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) {
    node.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return node;
}

function button(action: DashboardAction, arg: string, label: string): HTMLElement {
  return el('button', { type: 'button', 'data-action': action, 'data-arg': arg }, label);
}

function rows(id: string, body: readonly HTMLElement[], empty: string, columns: number): void {
  const tbody = document.getElementById(id);
  if (tbody === null) return;
  tbody.replaceChildren(
    ...(body.length > 0 ? body : [el('tr', {}, el('td', { colspan: String(columns) }, empty))]),
  );
}

function text(id: string, value: string): void {
  const node = document.getElementById(id);
  if (node !== null) node.textContent = value;
}

function progress(job: JobRow): string {
  const percent = `${Math.round(job.progress * 100)}%`;
  return job.note === '' ? percent : `${percent} ${job.note}`;
}

/** Renders `view` into the page (the element ids of `dashboardHtml`). */
export function renderDashboard(
  view: DashboardView,
  series: readonly number[],
  { readOnly }: { readonly readOnly: boolean },
): void {
  const c = view.counts;
  text(
    'summary',
    `${view.state}${view.paused ? ' (paused)' : ''} · ${c.running} running · ${c.queued} queued · ` +
      `${c.retrying} retrying · ${c.succeeded} succeeded · ${c.failed} failed · ` +
      `${c.cancelled} cancelled · ${c.skipped} skipped`,
  );
  rows(
    'types',
    view.types.map((t) =>
      el(
        'tr',
        { 'data-type': t.type },
        el('td', {}, t.type),
        el('td', {}, `${t.running}/${t.limit}`),
        el('td', {}, t.queued),
        el('td', {}, t.paused ? 'paused' : t.heldByRate ? 'held by rate' : ''),
        el('td', {}, t.oldestQueuedMs === undefined ? '' : formatDuration(t.oldestQueuedMs)),
        el(
          'td',
          {},
          ...(readOnly
            ? []
            : [t.paused ? button('resume', t.type, 'resume') : button('pause', t.type, 'pause')]),
        ),
      ),
    ),
    'no job types',
    6,
  );
  rows(
    'running',
    view.running.map((job) =>
      el(
        'tr',
        { 'data-job': job.id, 'data-key': job.key },
        el('td', {}, job.id),
        el('td', {}, job.type),
        el('td', {}, job.key),
        el('td', {}, formatDuration(job.ms)),
        el('td', {}, progress(job)),
        el('td', {}, job.attempt),
        el('td', {}, ...(readOnly ? [] : [button('cancel', job.id, 'cancel')])),
      ),
    ),
    'nothing running',
    7,
  );
  rows(
    'queued',
    view.queued.map((job) =>
      el(
        'tr',
        { 'data-job': job.id },
        el('td', {}, job.id),
        el('td', {}, job.type),
        el('td', {}, job.priority),
        el('td', {}, formatDuration(job.ms)),
        el('td', {}, ...(readOnly ? [] : [button('cancel', job.id, 'cancel')])),
      ),
    ),
    'nothing queued',
    5,
  );
  text(
    'queued-note',
    view.queued.length < c.queued ? `the first ${view.queued.length} of ${c.queued}` : '',
  );
  rows(
    'finished',
    view.finished.map((job) =>
      el(
        'tr',
        { 'data-job': job.id, class: job.status },
        el('td', {}, job.id),
        el('td', {}, job.type),
        el('td', {}, job.status),
        el('td', {}, formatDuration(job.ms)),
        el('td', {}, job.error),
      ),
    ),
    'nothing finished yet',
    5,
  );
  const failures = view.failures;
  rows(
    'failures',
    (failures?.rows ?? []).map((f) =>
      el(
        'tr',
        { 'data-key': f.key },
        el('td', {}, f.key),
        el('td', {}, f.failures),
        el('td', {}, f.lastError),
        el(
          'td',
          {},
          f.permanent
            ? `permanent until ${new Date(f.eligibleAt).toISOString()}`
            : f.inMs === 0
              ? 'due now'
              : `next attempt in ${formatDuration(f.inMs)}`,
        ),
        el('td', {}, ...(readOnly ? [] : [button('retry', f.key, 'retry now')])),
      ),
    ),
    failures === undefined ? 'no failure tracker' : 'no failures',
    5,
  );
  const store = view.store;
  text(
    'store',
    store === undefined
      ? 'no store'
      : `${store.path} · ${store.calls} calls · ${store.pending} pending · ${store.failed} failed · ` +
          `${store.slowCalls} slow (≥ ${store.slowCallMs} ms, slowest ${formatDuration(store.slowestMs)}) · ` +
          `${store.busyRetries} lock waits · ${store.busyTimeouts} gave up`,
  );
  rows(
    'subscribers',
    (view.subscribers ?? []).map((s: SubscriberView) =>
      el(
        'tr',
        {},
        el('td', {}, s.topics.join(', ')),
        el('td', {}, `${s.buffered}/${s.buffer}`),
        el('td', {}, s.whenFull),
        el('td', {}, s.delivered),
        el('td', {}, s.dropped),
      ),
    ),
    view.subscribers === undefined ? 'no bus' : 'no subscribers',
    5,
  );
  renderChart(series);
}

/** Bars of jobs finished per interval, as SVG rectangles scaled to the busiest bar. */
function renderChart(series: readonly number[]): void {
  const svg = document.getElementById('throughput');
  if (svg === null) return;
  const max = Math.max(1, ...series);
  const width = 100 / Math.max(1, series.length);
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren(
    ...series.map((value, i) => {
      const rect = document.createElementNS(ns, 'rect');
      const height = (value / max) * 100;
      rect.setAttribute('x', String(i * width));
      rect.setAttribute('y', String(100 - height));
      rect.setAttribute('width', String(width * 0.8));
      rect.setAttribute('height', String(height));
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${value} finished`;
      rect.append(title);
      return rect;
    }),
  );
  text('throughput-max', `${Math.max(0, ...series)} per bar at most`);
}

/**
 * The dashboard page's script (bundled for the browser by `npm run build`): connects to
 * the host's bridge over a WebSocket, renders a snapshot a few times a second, and sends
 * the actions its buttons name. Reconnects by itself after the host restarts.
 */
import { connectWorkbus, type WorkbusClient } from '../../client.js';
import { webSocketPort } from '../../port.js';
import { ThroughputMeter } from '../throughput.js';
import { dashboardView } from '../view-model.js';
import { renderDashboard, type DashboardAction } from './render.js';

/** What the server writes into the page (`dashboardHtml`). */
interface PageConfig {
  readonly readOnly: boolean;
  /** The bridge's WebSocket path on this server. */
  readonly socket: string;
  readonly refreshMs: number;
}

const config = JSON.parse(document.getElementById('config')?.textContent ?? '{}') as PageConfig;
const meter = new ThroughputMeter();

function status(text: string): void {
  const node = document.getElementById('status');
  if (node !== null) node.textContent = text;
}

async function refresh(client: WorkbusClient): Promise<void> {
  const snapshot = await client.snapshot();
  const { counts } = snapshot.pool;
  meter.add(snapshot.at, counts.succeeded + counts.failed + counts.cancelled + counts.skipped);
  const now = Date.now();
  renderDashboard(dashboardView(snapshot, now), meter.series(now), config);
  status(`live · updated ${new Date(snapshot.at).toLocaleTimeString()}`);
}

function act(client: WorkbusClient, action: DashboardAction, arg: string): Promise<unknown> {
  switch (action) {
    case 'cancel':
      return client.cancel(arg);
    case 'retry':
      return client.retry(arg);
    case 'pause':
      return client.pause(arg);
    case 'resume':
      return client.resume(arg);
  }
}

async function main(): Promise<void> {
  const url = new URL(config.socket, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  status('connecting…');
  const client = await connectWorkbus(() => webSocketPort(new WebSocket(url)));
  document.addEventListener('click', (event) => {
    const target = (event.target as Element | null)?.closest('button[data-action]');
    if (target === null || target === undefined || config.readOnly) return;
    const action = target.getAttribute('data-action') as DashboardAction;
    const arg = target.getAttribute('data-arg') ?? '';
    (target as HTMLButtonElement).disabled = true;
    act(client, action, arg)
      .then(() => refresh(client))
      .catch((error: unknown) => status(`${action} ${arg} failed: ${String(error)}`));
  });
  // One refresh at a time: the next is asked for only after the last one is drawn.
  const loop = (): void => {
    refresh(client)
      .catch((error: unknown) => status(`waiting for the host: ${String(error)}`))
      .finally(() => setTimeout(loop, config.refreshMs));
  };
  loop();
}

main().catch((error: unknown) => status(`cannot connect: ${String(error)}`));

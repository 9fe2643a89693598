/**
 * The dashboard's one page: a static skeleton whose tables the page script fills. The
 * page's settings go in as JSON data (never as script), with `<` escaped so no value can
 * close the element early.
 */

/** What the page script reads from the page. */
export interface PageSettings {
  readonly readOnly: boolean;
  readonly socket: string;
  readonly refreshMs: number;
}

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 1rem 1.5rem; color: #1d2330; }
h1 { font-size: 1.2rem; margin: 0 0 .2rem; }
h2 { font-size: .95rem; margin: 1.2rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .15rem .6rem .15rem 0; border-bottom: 1px solid #e3e6ec; vertical-align: top; }
th { font-weight: 600; color: #555c6b; }
td { overflow-wrap: break-word; }
.scroll { max-height: 24rem; overflow-y: auto; }
tr.failed td, tr.cancelled td { color: #a4262c; }
tr.skipped td { color: #8a6d00; }
#status, #summary, .note { color: #555c6b; }
svg { width: 100%; height: 80px; background: #f6f7f9; }
svg rect { fill: #3b6fd4; }
button { font: inherit; padding: 0 .4rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 0 2rem; }
`;

function table(id: string, headings: readonly string[]): string {
  const cells = headings.map((h) => `<th>${h}</th>`).join('');
  return `<table><thead><tr>${cells}</tr></thead><tbody id="${id}"></tbody></table>`;
}

/** The page, for `settings`. */
export function dashboardHtml(settings: PageSettings, scriptPath: string): string {
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  const action = settings.readOnly ? '' : 'action';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>workbus dashboard</title>
<style>${STYLE}</style>
<script type="application/json" id="config">${json}</script>
<script type="module" src="${scriptPath}"></script>
</head>
<body>
<h1>workbus${settings.readOnly ? ' (read-only)' : ''}</h1>
<div id="status">loading…</div>
<div id="summary"></div>
<h2>Job types</h2>
${table('types', ['type', 'running/limit', 'queued', 'held', 'oldest queued', action])}
<h2>Throughput <span class="note" id="throughput-max"></span></h2>
<svg id="throughput" viewBox="0 0 100 100" preserveAspectRatio="none" role="img" aria-label="jobs finished per 10 s over the last 5 minutes"></svg>
<div class="grid">
<section><h2>Running</h2>
${table('running', ['job', 'type', 'key', 'elapsed', 'progress', 'attempt', action])}</section>
<section><h2>Queued <span class="note" id="queued-note"></span></h2>
<div class="scroll">${table('queued', ['job', 'type', 'priority', 'waiting', action])}</div></section>
</div>
<h2>Last finished</h2>
${table('finished', ['job', 'type', 'status', 'ran', 'error'])}
<h2>Failures</h2>
${table('failures', ['key', 'count', 'last error', 'next', action])}
<div class="grid">
<section><h2>Store</h2><div id="store"></div></section>
<section><h2>Bus subscribers</h2>
${table('subscribers', ['topics', 'buffered', 'when full', 'delivered', 'dropped'])}</section>
</div>
</body>
</html>
`;
}

/**
 * The command line of `workbus-feeds`: argv in, one checked `Command` out, or a
 * `UsageError` saying what is wrong in words a user can act on. Parsing knows nothing of
 * feeds or stores, so every command's arguments are checked before anything is opened.
 */
import { parseArgs } from 'node:util';

/** The database file used when `--db` is not given. */
export const DEFAULT_DB = 'workbus-feeds.db';

/** A parsed command line. */
export type Command =
  | { readonly name: 'help'; readonly topic: string | undefined }
  | { readonly name: 'version' }
  | {
      readonly name: 'demo';
      readonly db: string | undefined;
      readonly dashboard: number | undefined;
      /** Items any of these match (title or summary) are not stored: `--exclude`. */
      readonly exclude: readonly RegExp[];
    }
  | { readonly name: 'import'; readonly db: string; readonly file: string }
  | { readonly name: 'export'; readonly db: string; readonly file: string }
  | {
      readonly name: 'fetch';
      readonly db: string;
      readonly watch: boolean;
      /** The dashboard's port (0: any free port), when `--dashboard` is given. */
      readonly dashboard: number | undefined;
      readonly readOnly: boolean;
      /** Items any of these match (title or summary) are not stored: `--exclude`. */
      readonly exclude: readonly RegExp[];
    }
  | {
      readonly name: 'list';
      readonly db: string;
      readonly unread: boolean;
      readonly saved: boolean;
      readonly feedId: number | undefined;
      readonly limit: number;
    }
  | { readonly name: 'read'; readonly db: string; readonly itemId: number }
  | { readonly name: 'refresh'; readonly db: string; readonly feed: string }
  | { readonly name: 'feeds'; readonly db: string };

/** The command line is wrong; the message says how, and `--help` says more. */
export class UsageError extends Error {
  override get name(): 'UsageError' {
    return 'UsageError';
  }
}

export const USAGE = `workbus-feeds: a feed reader on workbus

Usage: workbus-feeds <command> [options]

Commands:
  demo [--exclude <regex>] [--dashboard [port]]
                            serve bundled feeds on loopback, fetch them all, show progress
                            (with --dashboard: a live dashboard, up until Ctrl-C)
  import <opml>             add the feeds an OPML file lists
  export <opml>             write the feeds to an OPML file
  fetch [--once | --watch]  fetch due feeds once (default), or keep them fresh until Ctrl-C
        [--dashboard [port]] [--read-only]
                            serve a live dashboard on loopback (read-only: no actions)
        [--exclude <regex>]...
                            store no item whose title or summary the regular expression
                            matches (case-insensitive; repeat for several)
  feeds                     each feed's state: last and next fetch, ETag, failures
  list [--unread] [--saved] [--feed <id>] [--limit <n>]
                            items, newest first
  read <id>                 show an item and mark it read
  refresh <feed>            fetch one feed now (by id or URL), forgiving its failures

Options:
  --db <path>               the SQLite file (default: ${DEFAULT_DB})
  -h, --help                this text
  --version                 the version
`;

const OPTIONS = {
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  once: { type: 'boolean' },
  watch: { type: 'boolean' },
  dashboard: { type: 'string' },
  'read-only': { type: 'boolean' },
  exclude: { type: 'string', multiple: true },
  unread: { type: 'boolean' },
  saved: { type: 'boolean' },
  feed: { type: 'string' },
  limit: { type: 'string' },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** The options each command accepts, besides `--db` and `--help`. */
const ACCEPTS: Record<string, readonly (keyof typeof OPTIONS)[]> = {
  demo: ['dashboard', 'exclude'],
  import: [],
  export: [],
  fetch: ['once', 'watch', 'dashboard', 'read-only', 'exclude'],
  list: ['unread', 'saved', 'feed', 'limit'],
  read: [],
  refresh: [],
  feeds: [],
};

/** Parses the arguments after the program name. */
export function parseCommand(argv: readonly string[]): Command {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: withDashboardPort(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ''));
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.version === true) return { name: 'version' };
  if (values.help === true || name === 'help') {
    return { name: 'help', topic: name === 'help' ? rest[0] : name };
  }
  if (name === undefined) throw new UsageError('no command given');
  const accepts = ACCEPTS[name];
  if (accepts === undefined) throw new UsageError(`unknown command "${name}"`);
  for (const option of Object.keys(values) as (keyof typeof OPTIONS)[]) {
    if (option !== 'db' && !accepts.includes(option)) {
      throw new UsageError(`the ${name} command takes no --${option} option`);
    }
  }
  const db = values.db ?? DEFAULT_DB;
  const one = (what: string): string => {
    if (rest.length !== 1 || rest[0] === undefined || rest[0] === '') {
      throw new UsageError(`${name} takes exactly one ${what}, got ${rest.length}`);
    }
    return rest[0];
  };
  const none = (): void => {
    if (rest.length > 0)
      throw new UsageError(`${name} takes no arguments, got "${rest.join(' ')}"`);
  };
  switch (name) {
    case 'demo':
      none();
      return {
        name,
        db: values.db,
        dashboard: port(values.dashboard),
        exclude: patterns(values.exclude),
      };
    case 'import':
    case 'export':
      return { name, db, file: one('OPML file') };
    case 'fetch':
      none();
      if (values.once === true && values.watch === true) {
        throw new UsageError('fetch takes --once or --watch, not both');
      }
      if (values['read-only'] === true && values.dashboard === undefined) {
        throw new UsageError('--read-only applies to the dashboard: add --dashboard');
      }
      return {
        name,
        db,
        watch: values.watch === true,
        dashboard: port(values.dashboard),
        readOnly: values['read-only'] === true,
        exclude: patterns(values.exclude),
      };
    case 'list':
      none();
      return {
        name,
        db,
        unread: values.unread === true,
        saved: values.saved === true,
        feedId: values.feed === undefined ? undefined : positive('--feed', values.feed),
        limit: values.limit === undefined ? 50 : positive('--limit', values.limit, 1000),
      };
    case 'read':
      return { name, db, itemId: positive('the item id', one('item id')) };
    case 'refresh':
      return { name, db, feed: one('feed (an id or a URL)') };
    default:
      none();
      return { name: 'feeds', db };
  }
}

/** `--dashboard` takes an optional port: `--dashboard 8080`, or alone for any free port. */
function withDashboardPort(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--dashboard') {
      const next = argv[i + 1];
      if (next !== undefined && /^\d+$/.test(next)) {
        out.push(`--dashboard=${next}`);
        i++;
      } else {
        out.push('--dashboard=0');
      }
    } else {
      out.push(arg);
    }
  }
  return out;
}

function port(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new UsageError(`--dashboard takes a port from 0 to 65535, got "${value}"`);
  }
  return n;
}

/** `--exclude` values as case-insensitive regular expressions. */
function patterns(values: readonly string[] | undefined): RegExp[] {
  return (values ?? []).map((value) => {
    try {
      if (value === '') throw new SyntaxError('it is empty (it would match every item)');
      return new RegExp(value, 'i');
    } catch (error) {
      throw new UsageError(
        `--exclude "${value}" is not a regular expression: ${(error as Error).message}`,
      );
    }
  });
}

function positive(what: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${max}`;
    throw new UsageError(`${what} must be ${range}, got "${value}"`);
  }
  return n;
}

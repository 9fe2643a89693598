import { describe, expect, it } from 'vitest';
import { DEFAULT_DB, parseCommand, UsageError } from '../../src/cli/args.js';

describe('parseCommand', () => {
  it.each([
    [
      ['fetch'],
      {
        name: 'fetch',
        db: DEFAULT_DB,
        watch: false,
        dashboard: undefined,
        readOnly: false,
        exclude: [],
      },
    ],
    [
      ['fetch', '--once', '--db', 'x.db'],
      {
        name: 'fetch',
        db: 'x.db',
        watch: false,
        dashboard: undefined,
        readOnly: false,
        exclude: [],
      },
    ],
    [
      ['fetch', '--watch', '--dashboard'],
      { name: 'fetch', db: DEFAULT_DB, watch: true, dashboard: 0, readOnly: false, exclude: [] },
    ],
    [
      ['fetch', '--watch', '--dashboard', '8080', '--read-only'],
      { name: 'fetch', db: DEFAULT_DB, watch: true, dashboard: 8080, readOnly: true, exclude: [] },
    ],
    [
      ['fetch', '--dashboard', '--watch'],
      { name: 'fetch', db: DEFAULT_DB, watch: true, dashboard: 0, readOnly: false, exclude: [] },
    ],
    [['demo'], { name: 'demo', db: undefined, dashboard: undefined, exclude: [] }],
    [
      ['demo', '--dashboard', '9000'],
      { name: 'demo', db: undefined, dashboard: 9000, exclude: [] },
    ],
    [['import', 'subs.opml'], { name: 'import', db: DEFAULT_DB, file: 'subs.opml' }],
    [['export', 'out.opml', '--db=a.db'], { name: 'export', db: 'a.db', file: 'out.opml' }],
    [
      ['list'],
      { name: 'list', db: DEFAULT_DB, unread: false, saved: false, feedId: undefined, limit: 50 },
    ],
    [
      ['list', '--unread', '--saved', '--feed', '3', '--limit', '10'],
      { name: 'list', db: DEFAULT_DB, unread: true, saved: true, feedId: 3, limit: 10 },
    ],
    [['read', '42'], { name: 'read', db: DEFAULT_DB, itemId: 42 }],
    [
      ['refresh', 'https://example.com/feed'],
      { name: 'refresh', db: DEFAULT_DB, feed: 'https://example.com/feed' },
    ],
    [['feeds'], { name: 'feeds', db: DEFAULT_DB }],
    [
      ['fetch', '--exclude', 'sponsored', '--exclude=^ad\\b'],
      {
        name: 'fetch',
        db: DEFAULT_DB,
        watch: false,
        dashboard: undefined,
        readOnly: false,
        exclude: [/sponsored/i, /^ad\b/i],
      },
    ],
    [
      ['demo', '--exclude', 'ai'],
      { name: 'demo', db: undefined, dashboard: undefined, exclude: [/ai/i] },
    ],
    [['--help'], { name: 'help', topic: undefined }],
    [['fetch', '-h'], { name: 'help', topic: 'fetch' }],
    [['help', 'list'], { name: 'help', topic: 'list' }],
    [['--version'], { name: 'version' }],
  ])('reads %j', (argv, command) => {
    expect(parseCommand(argv)).toEqual(command);
  });

  it.each([
    [[], /no command given/],
    [['fetsh'], /unknown command "fetsh"/],
    [['fetch', '--once', '--watch'], /--once or --watch, not both/],
    [['fetch', '--read-only'], /--read-only applies to the dashboard/],
    [['fetch', '--unread'], /fetch command takes no --unread option/],
    [['fetch', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['fetch', 'extra'], /fetch takes no arguments, got "extra"/],
    [['import'], /import takes exactly one OPML file, got 0/],
    [['import', 'a', 'b'], /import takes exactly one OPML file, got 2/],
    [['read', 'x'], /the item id must be a positive integer, got "x"/],
    [['read', '0'], /the item id must be a positive integer, got "0"/],
    [['list', '--limit', '5000'], /--limit must be an integer from 1 to 1000, got "5000"/],
    [['list', '--feed'], /--feed/],
    [['fetch', '--dashboard', '70000'], /--dashboard takes a port from 0 to 65535, got "70000"/],
    [['fetch', '--db'], /--db/],
    [['fetch', '--exclude', '(ad'], /--exclude "\(ad" is not a regular expression: .*/],
    [['fetch', '--exclude', ''], /--exclude "" is not a regular expression: it is empty/],
    [['list', '--exclude', 'x'], /list command takes no --exclude option/],
  ])('refuses %j with a UsageError naming the problem', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });
});

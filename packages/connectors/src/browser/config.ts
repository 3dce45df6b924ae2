import { type Static, Type } from '@sinclair/typebox';
import { SIZE } from '../shared/size.ts';

const Selector = Type.String({
  minLength: 1,
  description:
    'A Playwright selector: CSS (`#login`, `form button[type=submit]`), `text=Sign in`, `role=button[name="Sign in"]`.',
});

/** A file name in the step's files directory: no directory part, not hidden. */
const FileName = (description: string) =>
  Type.String({ minLength: 1, pattern: '^[^./\\\\][^/\\\\]*$', description });

const selectorOnly = (description: string) =>
  Type.Union([Selector, Type.Object({ selector: Selector }, { additionalProperties: false })], {
    description,
  });

/**
 * One action: an object with exactly one key, the action's name. Unknown keys pass the schema so
 * the task's check can name them with a suggestion (`fil` → `fill`), which a union of one-key
 * objects cannot.
 */
export const Action = Type.Object(
  {
    goto: Type.Optional(
      Type.Union(
        [
          Type.String({ minLength: 1, description: 'The URL to open.' }),
          Type.Object(
            {
              url: Type.String({ minLength: 1, description: 'The URL to open.' }),
              waitUntil: Type.Optional(
                Type.Union(
                  [
                    Type.Literal('load'),
                    Type.Literal('domcontentloaded'),
                    Type.Literal('networkidle'),
                    Type.Literal('commit'),
                  ],
                  { description: 'When the page counts as open (default `load`).' },
                ),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        { description: 'Opens a URL: `goto: https://portal.example.com/login`.' },
      ),
    ),
    fill: Type.Optional(
      Type.Object(
        {
          selector: Selector,
          value: Type.String({
            description: 'The text typed in; `${credential.password}` takes a field of the step credential.',
          }),
        },
        { additionalProperties: false, description: 'Types a value into an input, replacing what it held.' },
      ),
    ),
    click: Type.Optional(selectorOnly('Clicks an element: `click: "#login"`.')),
    select: Type.Optional(
      Type.Object(
        {
          selector: Selector,
          value: Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
            description: "The option's value or label (several for a multiple select).",
          }),
        },
        { additionalProperties: false, description: 'Chooses an option of a `<select>`.' },
      ),
    ),
    check: Type.Optional(selectorOnly('Ticks a checkbox or radio button.')),
    waitFor: Type.Optional(
      Type.Object(
        {
          selector: Type.Optional(Selector),
          url: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'The page URL to wait for: exact, or a glob (`**/reports*`).',
            }),
          ),
          text: Type.Optional(Type.String({ minLength: 1, description: 'Text to wait for on the page.' })),
          timeout: Type.Optional(
            Type.Integer({
              minimum: 1,
              description: 'Milliseconds to wait, instead of the per-action `timeout`.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Waits until an element is visible, the page is at a URL, or a text shows (one of them).',
        },
      ),
    ),
    download: Type.Optional(
      Type.Object(
        {
          click: Selector,
          saveAs: FileName(
            "The file name in the step's files; the step hands it on as `${steps.<id>.files.<name>}`, `<name>` being `saveAs` without its extension.",
          ),
        },
        { additionalProperties: false, description: 'Clicks what starts a download and saves the file.' },
      ),
    ),
    extract: Type.Optional(
      Type.Object(
        {
          selector: Selector,
          fields: Type.Optional(
            Type.Union(
              [
                Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
                Type.Record(Type.String({ minLength: 1 }), Selector),
              ],
              {
                description:
                  "The rows' field names: a list names a table row's cells in order; a map gives each field a selector inside the row. Omitted, a table's header cells name them.",
              },
            ),
          ),
          saveAs: FileName(
            'The rows as a file: `.csv` (a header, then a record per row) or `.ndjson` (a JSON object per line); handed on as `${steps.<id>.files.<name>}`.',
          ),
        },
        {
          additionalProperties: false,
          description:
            "Reads rows from the page: `selector` matches a `<table>` (its body rows) or the row elements themselves; values are the cells' text.",
        },
      ),
    ),
    screenshot: Type.Optional(
      Type.Union(
        [
          FileName('The PNG file name.'),
          Type.Object(
            {
              saveAs: Type.Optional(
                FileName('The PNG file name (default `screenshot-<n>.png`, n the action index).'),
              ),
              fullPage: Type.Optional(
                Type.Boolean({ description: 'The whole page, not only the viewport.' }),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            'Saves a PNG of the page, handed on like a download; fields filled from the credential are blacked out.',
        },
      ),
    ),
  },
  {
    description:
      'One action, as an object with one key: `goto`, `fill`, `click`, `select`, `check`, `waitFor`, `download`, `extract` or `screenshot`.',
  },
);
export type Action = Static<typeof Action>;

export const ACTION_KINDS = [
  'goto',
  'fill',
  'click',
  'select',
  'check',
  'waitFor',
  'download',
  'extract',
  'screenshot',
] as const satisfies readonly (keyof Action)[];
export type ActionKind = (typeof ACTION_KINDS)[number];

export const DEFAULTS = {
  /** Per action, in ms. */
  timeout: 30_000,
  executablePath: '/usr/bin/chromium',
  viewport: { width: 1280, height: 800 },
} as const;

export const BrowserConfig = Type.Object(
  {
    actions: Type.Array(Action, {
      minItems: 1,
      description: 'What to do in the page, in order; the step fails at the first action that fails.',
    }),
    timeout: Type.Integer({
      minimum: 1,
      default: DEFAULTS.timeout,
      description:
        "Milliseconds each action may take (a navigation, finding an element, a download's start); the step's own `timeout` bounds the whole step.",
    }),
    headless: Type.Boolean({ default: true, description: 'Run Chromium without a window.' }),
    memoryLimit: Type.Optional(
      Type.String({
        pattern: SIZE.source,
        description:
          "The most memory Chromium's processes may hold together (proportional set size, read every " +
          "250 ms); past it the browser is killed and the step fails. Default: the step's memory limit " +
          "(the heap limit of the process running it: on the platform the worker's --step-memory).",
        examples: ['512MB', '1GiB'],
      }),
    ),
    executablePath: Type.Optional(
      Type.String({
        minLength: 1,
        description: `The Chromium to run (default ${DEFAULTS.executablePath}); the SLUICE_CHROMIUM variable of the machine running the step overrides it.`,
      }),
    ),
    viewport: Type.Object(
      {
        width: Type.Integer({ minimum: 100, maximum: 10_000 }),
        height: Type.Integer({ minimum: 100, maximum: 10_000 }),
      },
      { additionalProperties: false, default: DEFAULTS.viewport, description: "The page's size in pixels." },
    ),
    acceptDownloads: Type.Boolean({
      default: true,
      description: 'Let the page download files (`download` actions need it).',
    }),
    username: Type.Optional(
      Type.String({
        description: 'Usually from the step credential; actions use it as `${credential.username}`.',
      }),
    ),
    password: Type.Optional(
      Type.String({
        writeOnly: true,
        description:
          'Usually from the step credential; actions use it as `${credential.password}`. Never logged, on the CLI too (give it as `${env.X}`).',
      }),
    ),
    extra: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), {
        writeOnly: true,
        description: 'More secret values (an account code, a PIN), used as `${credential.<name>}`.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BrowserConfig = Static<typeof BrowserConfig>;

export const BrowserCredential = Type.Object(
  {
    username: Type.Optional(Type.String({ description: 'Used in actions as `${credential.username}`.' })),
    password: Type.Optional(
      Type.String({ writeOnly: true, description: 'Used in actions as `${credential.password}`.' }),
    ),
    extra: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), {
        writeOnly: true,
        description:
          'More values a portal asks for (an account code, a PIN), each used as `${credential.<name>}`.',
      }),
    ),
  },
  { additionalProperties: false },
);

import { objectOf, type Pair, pairsOf } from '../components/key-value-rows.tsx';

// A channel as the form edits it: every type's fields at once, as typed, so switching the type
// back and forth loses nothing; `toChannel` makes the API's shape (docs/operations.md#channels).

export const CHANNEL_TYPES = ['webhook', 'slack', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export type Channel = { type: string } & Record<string, unknown>;

export interface Draft {
  /** Stable across edits and removals: keys the row and its test result. */
  key: number;
  type: ChannelType;
  url: string;
  headers: Pair[];
  to: string;
  host: string;
  port: string;
  secure: boolean;
  from: string;
  user: string;
  password: string;
  credential: string;
}

let next = 0;
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : String(v));

export function draftOf(c: Channel | null): Draft {
  return {
    key: next++,
    type: (CHANNEL_TYPES as readonly string[]).includes(c?.type ?? '') ? (c!.type as ChannelType) : 'webhook',
    url: str(c?.url),
    headers: pairsOf(c?.headers as Record<string, string> | undefined),
    to: Array.isArray(c?.to) ? c.to.join(', ') : '',
    host: str(c?.host),
    port: str(c?.port),
    secure: c?.secure === true,
    from: str(c?.from),
    user: str(c?.user),
    password: str(c?.password),
    credential: str(c?.credential),
  };
}

const recipients = (to: string) =>
  to
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The channel the API takes; fields left empty are left out (the server fills its defaults). */
export function toChannel(d: Draft): Channel {
  if (d.type === 'slack') return { type: 'slack', url: d.url.trim() };
  if (d.type === 'webhook') {
    const headers = objectOf(d.headers);
    return { type: 'webhook', url: d.url.trim(), ...(Object.keys(headers).length ? { headers } : {}) };
  }
  const opt = (k: string, v: unknown) => (v === '' || v === false ? {} : { [k]: v });
  return {
    type: 'email',
    to: recipients(d.to),
    host: d.host.trim(),
    ...opt('port', d.port === '' ? '' : Number(d.port)),
    ...opt('secure', d.secure),
    ...opt('from', d.from.trim()),
    ...opt('user', d.user.trim()),
    ...opt('password', d.password),
    ...opt('credential', d.credential.trim()),
  };
}

/**
 * What is wrong with a draft, by field, in the server's terms (it checks again): messages show
 * at the field as soon as the user tries to test or save, not only after a round trip.
 */
export function draftIssues(d: Draft): Record<string, string> {
  const out: Record<string, string> = {};
  if (d.type !== 'email') {
    if (!d.url.trim()) out.url = 'is required';
    else if (!/^https?:\/\//.test(d.url.trim())) out.url = 'must start with http:// or https://';
    if (d.type === 'webhook' && d.headers.some(([k, v]) => !k.trim() && v))
      out.headers = 'every header with a value needs a name';
    return out;
  }
  const to = recipients(d.to);
  if (to.length === 0) out.to = 'give at least one address';
  else if (to.some((x) => x.length < 3)) out.to = 'an address needs at least 3 characters';
  if (!d.host.trim()) out.host = 'is required';
  const port = Number(d.port);
  if (d.port !== '' && (!Number.isInteger(port) || port < 1 || port > 65535))
    out.port = 'must be a whole number from 1 to 65535';
  if (d.password && d.credential.trim()) out.password = 'give a password or a credential, not both';
  return out;
}

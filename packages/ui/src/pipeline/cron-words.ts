// The common cron shapes in words. Anything else returns null and the page shows the cron alone:
// a wrong description is worse than none, and a full describer (cronstrue) would be a new dependency.
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['', 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const NUMBER = /^\d+$/;
const LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

const two = (n: string) => n.padStart(2, '0');

/** "1-5" → "Mon–Fri", "0,6" → "Sun, Sat", with `names` mapping numbers to words. */
function named(field: string, names: readonly string[]): string | null {
  if (!LIST.test(field)) return null;
  const parts = field.split(',').map((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    const from = names[a];
    const to = b === undefined ? undefined : names[b];
    return from && (b === undefined || to) ? (to ? `${from}–${to}` : from) : null;
  });
  return parts.every(Boolean) ? parts.join(', ') : null;
}

function time(minute: string, hour: string): string | null {
  if (minute === '*' && hour === '*') return 'every minute';
  const step = /^\*\/(\d+)$/.exec(minute);
  if (step && hour === '*') return `every ${step[1]} minutes`;
  if (NUMBER.test(minute) && hour === '*') return `at minute ${Number(minute)} of every hour`;
  if (NUMBER.test(minute) && LIST.test(hour) && !hour.includes('-'))
    return `at ${hour
      .split(',')
      .map((h) => `${two(h)}:${two(minute)}`)
      .join(', ')}`;
  return null;
}

/** Five-field cron in words, e.g. "30 5 * * 1-5" → "at 05:30, Mon–Fri"; null when not a common shape. */
export function cronWords(cron: string): string | null {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const words = [time(minute, hour)];
  if (dom !== '*') words.push(NUMBER.test(dom) ? `on day ${Number(dom)} of the month` : null);
  if (month !== '*') words.push(named(month, MONTHS) && `in ${named(month, MONTHS)}`);
  if (dow !== '*') words.push(named(dow, DAYS));
  return words.every(Boolean) ? words.join(', ') : null;
}

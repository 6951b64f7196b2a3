// Times: the API speaks RFC 3339 (UTC); people see and type wall-clock times in their own time
// zone (the account's setting, else this device's). Intl does the zone arithmetic, no library.
import { getLang, plural, t } from './i18n.js';

export const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function validZone(zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function zoneOf(user) {
  return user && user.timezone && validZone(user.timezone) ? user.timezone : deviceZone();
}

export function formatTime(iso, zone) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(getLang(), {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone,
  }).format(date);
}

/** The wall-clock fields of `date` in `zone`, as numbers. */
function wall(date, zone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), min: get('minute'), s: get('second') };
}

/** An RFC 3339 instant as the value of an <input type="datetime-local"> in `zone`. */
export function toInputValue(iso, zone) {
  if (!iso) return '';
  const w = wall(new Date(iso), zone);
  const pad = (n, size = 2) => String(n).padStart(size, '0');
  return `${pad(w.y, 4)}-${pad(w.m)}-${pad(w.d)}T${pad(w.h)}:${pad(w.min)}`;
}

/** A datetime-local value read as wall-clock time in `zone`, as an RFC 3339 UTC instant. */
export function fromInputValue(value, zone) {
  if (!value) return null;
  const [date, time] = value.split('T');
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const asUtc = Date.UTC(y, m - 1, d, hh, mm);
  // The zone's offset at that moment; a second pass settles it across a DST change.
  let guess = asUtc;
  for (let i = 0; i < 2; i += 1) {
    const w = wall(new Date(guess), zone);
    const offset = Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s) - guess;
    guess = asUtc - offset;
  }
  return new Date(guess).toISOString();
}

const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

/** An RRULE such as FREQ=WEEKLY;BYDAY=MO,WE in words; unknown shapes are shown as they are. */
export function repeatText(rule) {
  if (!rule) return '';
  const parts = Object.fromEntries(
    String(rule).replace(/^RRULE:/, '').split(';').map((p) => p.split('=')),
  );
  const freq = parts.FREQ;
  if (!['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'].includes(freq)) return String(rule);
  const n = Number(parts.INTERVAL || 1);
  let base = n === 1 ? t(`rep1_${freq}`) : plural(`rep_${freq}`, n);
  if (parts.BYDAY) {
    // 2024-01-01 was a Monday: the weekday names come from Intl in the page's language.
    const name = (code) => new Intl.DateTimeFormat(getLang(), { weekday: 'short', timeZone: 'UTC' })
      .format(new Date(Date.UTC(2024, 0, 1 + DAYS.indexOf(code))));
    const days = parts.BYDAY.split(',').filter((c) => DAYS.includes(c)).map(name).join(', ');
    if (days) base = t('rep_on', { base, days });
  }
  return base;
}

/** The IANA zone names this browser knows, for the settings' suggestions. */
export function knownZones() {
  return typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [deviceZone()];
}

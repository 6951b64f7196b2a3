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

/** An instant as people say it, in `zone`: "Today 10 AM", "Tomorrow 9:30 AM", "Wed 6 PM"
 * within the week ahead, else "Wed, Dec 9, 6:30 PM" (a year only when it is not this one);
 * Russian "сегодня 10:00", "завтра 09:00", "ср, 9 дек., 18:30". English keeps a 12-hour clock
 * and drops ":00"; Russian a 24-hour one. `now` is injectable for tests and screenshots. */
export function formatTime(iso, zone, now = new Date()) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const lang = getLang();
  const w = wall(date, zone);
  const clock = lang === 'en'
    ? new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: w.min ? '2-digit' : undefined, timeZone: zone }).format(date)
    : new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit', timeZone: zone }).format(date);
  const days = dayNumber(w) - dayNumber(wall(now, zone));
  const word = { '-1': 'day_yesterday', 0: 'day_today', 1: 'day_tomorrow' }[days];
  if (word) return `${t(word)} ${clock}`;
  if (days > 1 && days < 7) {
    const weekday = new Intl.DateTimeFormat(lang, { weekday: 'short', timeZone: zone }).format(date);
    return `${weekday} ${clock}`;
  }
  const sameYear = w.y === wall(now, zone).y;
  const day = new Intl.DateTimeFormat(lang, {
    weekday: 'short', day: 'numeric', month: 'short', year: sameYear ? undefined : 'numeric', timeZone: zone,
  }).format(date);
  return `${day}, ${clock}`;
}

/** Days since the epoch of a wall-clock date: the difference of two is a count of days. */
const dayNumber = (w) => Math.round(Date.UTC(w.y, w.m - 1, w.d) / 86_400_000);

/** The end of today (the next midnight) in `zone`, as epoch ms. */
export function endOfToday(zone, now = new Date()) {
  const w = wall(now, zone);
  const next = new Date(Date.UTC(w.y, w.m - 1, w.d + 1)); // a calendar date: UTC fields only
  const pad = (n, size = 2) => String(n).padStart(size, '0');
  const value = `${pad(next.getUTCFullYear(), 4)}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}T00:00`;
  return new Date(fromInputValue(value, zone)).getTime();
}

/** The instant's sort key: its time, or none (sorted last). */
export const timeKey = (task) => {
  const at = task.remind_at || task.due;
  return at ? new Date(at).getTime() : Infinity;
};

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
const WEEKDAYS = 'MO,TU,WE,TH,FR';

/** A clock time (from BYHOUR/BYMINUTE) in the page's style: "8 AM", "8:30 AM", "08:00". */
function clockText(hour, minute) {
  const date = new Date(Date.UTC(2024, 0, 1, hour, minute));
  return getLang() === 'en'
    ? new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: minute ? '2-digit' : undefined, timeZone: 'UTC' }).format(date)
    : new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(date);
}

/** An RRULE in words: "every weekday at 8 AM", "каждые 2 часа", "every week on Mon, Wed";
 * `withTime: false` where the next time is shown beside it (a row: "Today 10 AM · ↻ every
 * weekday", not the hour twice).
 * A shape it does not know reads as "repeats": the rule text itself is never shown. */
export function repeatText(rule, { withTime = true } = {}) {
  if (!rule) return '';
  const parts = Object.fromEntries(
    String(rule).replace(/^RRULE:/, '').split(';').map((p) => p.split('=')),
  );
  const freq = parts.FREQ;
  if (!['MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'].includes(freq)) return t('rep_unknown');
  const n = Number(parts.INTERVAL || 1);
  let base = n === 1 ? t(`rep1_${freq}`) : plural(`rep_${freq}`, n);
  if (parts.BYDAY === WEEKDAYS && n === 1) base = t('rep_weekdays');
  else if (parts.BYDAY) {
    // 2024-01-01 was a Monday: the weekday names come from Intl in the page's language.
    const name = (code) => new Intl.DateTimeFormat(getLang(), { weekday: 'short', timeZone: 'UTC' })
      .format(new Date(Date.UTC(2024, 0, 1 + DAYS.indexOf(code))));
    const days = parts.BYDAY.split(',').filter((c) => DAYS.includes(c)).map(name).join(', ');
    if (days) base = t('rep_on', { base, days });
  }
  // The time of day, for the rules that have one (an hourly rule's minute is not one).
  const hour = Number(parts.BYHOUR);
  if (withTime && parts.BYHOUR !== undefined && !parts.BYHOUR.includes(',') && Number.isInteger(hour)
      && !['MINUTELY', 'HOURLY'].includes(freq)) {
    base = t('rep_at', { base, time: clockText(hour, Number(parts.BYMINUTE) || 0) });
  }
  return base;
}

/** A zone as people look for it: its city ("New York"), its name in the page's language
 * ("Moscow Standard Time", "Москва, стандартное время") and its offset now ("GMT+3"). */
export function zoneLabel(zone) {
  const part = (style) => {
    try {
      const parts = new Intl.DateTimeFormat(getLang(), { timeZone: zone, timeZoneName: style }).formatToParts(new Date());
      return (parts.find((p) => p.type === 'timeZoneName') || {}).value || '';
    } catch {
      return '';
    }
  };
  const city = zone.split('/').pop().replace(/_/g, ' ');
  const long = part('long');
  // English names the city; Russian the zone's own Russian name ("Москва, стандартное время"),
  // since the IANA city is English. Either way the search also matches the other.
  const localName = getLang() === 'en' || !long || long === zone || /^GMT/.test(long) ? city : long;
  return { zone, name: zone === 'UTC' ? 'UTC' : localName, city, long: long === zone ? '' : long, offset: part('shortOffset') };
}

/** The IANA zone names this browser knows, for the settings' suggestions. */
export function knownZones() {
  return typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [deviceZone()];
}

// Times: the API speaks RFC 3339 (UTC); people see and type wall-clock times in their own time
// zone (the account's setting, else this device's). Intl does the zone arithmetic, no library.
import { getLang } from './i18n.js';

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

/** An instant as a plain date and time in `zone` ("Dec 7, 2026, 8:27 AM"), for the account's
 * list of sign-ins only (the sessions' JSON carries no words). A task's time is never formatted
 * here: rows and previews show the server's `when_text` (one formatter for bot and app). */
export function formatTime(iso, zone) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(getLang(), { dateStyle: 'medium', timeStyle: 'short', timeZone: zone }).format(date);
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

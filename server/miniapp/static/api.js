// Every call to the API goes through `api()`: it adds the credentials, refreshes the access
// token before it expires, and turns failures into an ApiError that the views can explain.
//
// Where the credentials live:
// - Inside Telegram: the init data Telegram gave this page, sent as `Authorization: tma …` on
//   every call. Nothing is stored and no session is opened per launch.
// - In a browser: the access token only in this module's memory. The refresh token is in
//   memory too while the page runs; it is written to sessionStorage only when the page is
//   hidden or unloaded (so a reload stays signed in) and taken out again as soon as the page is
//   back. See docs/miniapp.md ("Where the tokens live") for why.

import { getLang } from './i18n.js';

const REFRESH_KEY = 'assistant.refresh';

export class ApiError extends Error {
  constructor(status, problem = {}, { offline = false, retryAfter = 0 } = {}) {
    super(problem.detail || (offline ? 'offline' : `HTTP ${status}`));
    this.status = status;
    this.problem = problem;
    this.offline = offline;
    this.retryAfter = retryAfter;
  }

  /** Worth offering "try again": the network or the service was down, not the request wrong. */
  get transient() {
    return this.offline || [502, 503, 504].includes(this.status);
  }
}

const auth = { telegram: false, initData: null, access: null, refresh: null, timer: 0, refreshing: null };
let onSignedOut = () => {};

/** Called when the session ends on its own (a refresh refused; inside Telegram, the init data
 * refused, e.g. grown too old while the app stayed open): the app shows what to do next. */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function useTelegram(initData) {
  auth.telegram = initData !== null;
  auth.initData = initData;
}

/** Inside Telegram, go on with a token pair instead of the init data: setting a password ends
 * every older sign-in, this init data included (the server refuses it from then on). */
export function leaveInitData(pair) {
  auth.initData = null;
  useTokens(pair);
}

/** Running inside Telegram (even after `leaveInitData`). */
export function isTelegram() {
  return auth.telegram;
}

export function hasRefreshToken() {
  return auth.refresh !== null;
}

/** Start a browser session from a token pair (sign-in, registration, refresh). */
export function useTokens(pair) {
  auth.access = pair.access_token;
  auth.refresh = pair.refresh_token;
  clearTimeout(auth.timer);
  // Refresh a little before expiry (a fifth of the lifetime, at most a minute early); a
  // throttled background tab that misses it is covered by the retry on 401 below.
  const lifetime = Number(pair.expires_in) || 60;
  const delay = Math.max(1, lifetime - Math.min(60, lifetime / 5)) * 1000;
  auth.timer = setTimeout(() => refreshNow().catch(() => {}), delay);
  if (document.hidden) park(); // rotated while hidden: the parked copy must be the new one
}

/** Drop the browser session here only: the server already ended it (logout-all, deletion). */
export function forgetSession() {
  forget();
}

function forget() {
  clearTimeout(auth.timer);
  auth.access = null;
  auth.refresh = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

// The refresh token a reload left behind is taken out of storage at once, while this module
// loads: before the `pageshow` below could clear it, and before anything else could read it.
auth.refresh = sessionStorage.getItem(REFRESH_KEY);
sessionStorage.removeItem(REFRESH_KEY);

function park() {
  if (auth.refresh) sessionStorage.setItem(REFRESH_KEY, auth.refresh);
}

function unpark() {
  sessionStorage.removeItem(REFRESH_KEY);
}

addEventListener('pagehide', park);
addEventListener('pageshow', unpark);
document.addEventListener('visibilitychange', () => (document.hidden ? park() : unpark()));

/** Exchange the refresh token for a new pair; concurrent callers share one request. */
export function refreshNow() {
  if (!auth.refresh) return Promise.reject(new ApiError(401));
  if (!auth.refreshing) {
    const token = auth.refresh;
    auth.refreshing = send('POST', '/api/auth/refresh', { refresh_token: token }, {})
      .then((pair) => useTokens(pair))
      .catch((err) => {
        if (!err.transient) {
          forget();
          onSignedOut(err);
        }
        throw err;
      })
      .finally(() => { auth.refreshing = null; });
  }
  return auth.refreshing;
}

/** End the browser session on the server too; the local state goes whatever happens. */
export async function signOut() {
  // The body must carry the refresh token current when it is sent (a refresh rotates it).
  const logout = () => send('POST', '/api/auth/logout', { refresh_token: auth.refresh },
    { authorization: credentials() });
  try {
    if (!auth.refresh || auth.initData) return;
    if (!auth.access) await refreshNow();
    await logout().catch(async (err) => {
      if (err.status !== 401) throw err;
      await refreshNow();
      await logout();
    });
  } finally {
    forget();
  }
}

function credentials() {
  if (auth.initData !== null) return `tma ${auth.initData}`;
  return auth.access ? `Bearer ${auth.access}` : null;
}

async function send(method, path, body, { signal, authorization, headers: extra, full = false }) {
  // The page's language (the account's, else Telegram's, else the browser's): the server's
  // words (`when_text`, `repeat_text`) follow it for an account that has not chosen one.
  // `extra`: the caller's conditions (If-Match on a task's writes, If-None-Match on a poll).
  const headers = { Accept: 'application/json', 'Accept-Language': getLang(), ...extra };
  if (authorization) headers.Authorization = authorization;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, signal, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, {}, { offline: true });
  }
  // `full`: the status and the ETag too (a poll keeps the tag; a 304 has no body).
  const answer = (data) => (full ? { status: response.status, etag: response.headers.get('ETag'), data } : data);
  if (response.status === 204 || response.status === 304) return answer(null);
  const isJson = (response.headers.get('Content-Type') || '').includes('json');
  const data = isJson ? await response.json().catch(() => ({})) : {};
  if (!response.ok) {
    const retryAfter = Number(response.headers.get('Retry-After')) || 0;
    throw new ApiError(response.status, data, { retryAfter });
  }
  return answer(data);
}

/** Call the API as the signed-in user. A 401 with a browser session refreshes once and retries.
 * `headers`: extra request headers; `full`: answer `{status, etag, data}` (a 304 included). */
export async function api(method, path, body, { signal, retry = true, headers, full } = {}) {
  if (auth.refreshing) await auth.refreshing.catch(() => {});
  if (!auth.initData && !auth.access && auth.refresh && retry) await refreshNow();
  try {
    return await send(method, path, body, { signal, headers, full, authorization: credentials() });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && retry && !auth.initData && auth.refresh) {
      await refreshNow();
      return send(method, path, body, { signal, headers, full, authorization: credentials() });
    }
    if (err instanceof ApiError && err.status === 401 && auth.initData !== null) onSignedOut(err);
    throw err;
  }
}

/** Calls that need no credentials (sign-in, registration). */
export function publicCall(method, path, body) {
  return send(method, path, body, {});
}

// The assistant's front end: start-up (Telegram or browser), sign-in, and a small view stack.
// Views live in views.js, task.js and settings.js; each draws into <main> and gets `ctx`.
import {
  ApiError, api, forgetSession, hasRefreshToken, isTelegram, publicCall, refreshNow, signOut,
  useTelegram, useTokens, whenSignedOut,
} from './api.js';
import { busy, field, h, messageBox } from './dom.js';
import { explain, pickLang, setLang, t } from './i18n.js';
import { accountView, settingsView } from './settings.js';
import { taskView } from './task.js';
import { applyTheme, telegramLaunch } from './telegram.js';
import { deviceZone } from './time.js';
import { listView, listsView, todayView } from './views.js';
import { joinView, takeJoinCode } from './sharing.js';

const VIEWS = { today: todayView, lists: listsView, list: listView, task: taskView, settings: settingsView, account: accountView,
  join: joinView };
const STACK_KEY = 'assistant.views';
let accountShown = false;
const FORM_VIEWS = new Set(['task']);
const $ = (selector) => document.querySelector(selector);

const state = { tg: null, config: { bot: null }, user: null, stack: [], lists: null, renderId: 0 };
let primaryHandler = null;

// ---------------------------------------------------------------- chrome: title, buttons

function setTitle(text) {
  $('#title').textContent = text;
  // Inside Telegram its header already names the app: the tab title is not shown there.
  document.title = state.tg ? t('app_title') : `${text} · ${t('app_title')}`;
}

// ---------------------------------------------------------------- toast with undo

let toastTimer = 0;
const TOAST_MS = 5000;

/** A short note at the bottom ("Completed: …") with an optional Undo; one at a time, the
 * newest wins. It outlives the view that raised it, so undo still works after a tap away. */
function toast(text, undo) {
  const box = $('#toast');
  clearTimeout(toastTimer);
  const close = () => { box.hidden = true; box.replaceChildren(); };
  const button = undo && h('button', { type: 'button', class: 'link', id: 'undo', text: t('undo'),
    onclick: async () => {
      close();
      try {
        await undo();
        toast(t('undone'));
      } catch (err) {
        toast(explain(err));
      }
    } });
  box.replaceChildren(h('span', { text }), button);
  box.hidden = false;
  toastTimer = setTimeout(close, TOAST_MS);
}

/** The screen's main action: Telegram's MainButton inside Telegram, a button bar elsewhere. */
function setPrimary(text, onClick) {
  if (state.tg) {
    state.tg.mainButton(text, onClick);
    return;
  }
  primaryHandler = text ? onClick : null;
  $('#primary').textContent = text || '';
  $('#primary-bar').hidden = !text;
}

function setBack(visible) {
  if (state.tg) state.tg.backButton(visible ? back : null);
  else $('#back').hidden = !visible;
}

/** Whose account this page is signed in to, always in view in a browser: a sign-in that
 * someone else arranged (their account, not yours) shows at once. */
function showWhoAmI(user) {
  if (state.tg) return; // inside Telegram it is always the person's own account
  let line = $('#whoami');
  if (!line) {
    line = h('p', { id: 'whoami', class: 'whoami', role: 'status' });
    $('#bar').after(line);
  }
  const telegram = user.telegram_username ? `@${user.telegram_username}` : user.first_name;
  const name = user.username && telegram ? `${user.username} (${telegram})` : user.username || telegram || user.id;
  line.textContent = t('signed_in_as', { name });
  line.hidden = false;
}

function showChrome(signedIn) {
  $('#bar').hidden = false;
  $('#settings-button').hidden = !signedIn;
  $('#lists-button').hidden = true;
  if (!signedIn && $('#whoami')) $('#whoami').hidden = true;
  if (!signedIn) {
    setBack(false);
    setPrimary(null);
  }
}

// ---------------------------------------------------------------- the view stack

function go(name, params = {}) {
  state.stack.push({ name, params });
  history.pushState({ depth: state.stack.length }, '');
  render();
}

// history.back() takes effect later (at popstate): count the ones on their way, so a quick
// double tap on Back cannot go past the first view and leave the app.
let backsPending = 0;

function back() {
  if (state.stack.length - backsPending <= 1) return;
  backsPending += 1;
  history.back();
}

/** Change the current view's parameters in place (a filter, say) without a history entry. */
function replaceParams(params) {
  state.stack[state.stack.length - 1].params = params;
  render();
}

addEventListener('popstate', (event) => {
  backsPending = Math.max(0, backsPending - 1);
  if (!state.user) return;
  const depth = (event.state && event.state.depth) || 1;
  state.stack.length = Math.max(1, Math.min(depth, state.stack.length));
  render();
});

addEventListener('keydown', (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === 'Escape' && !typing && state.user) back();
});

/** Draw the top view. A view that finishes loading after the user moved on draws nothing. */
function render() {
  const view = state.stack[state.stack.length - 1];
  sessionStorage.setItem(STACK_KEY, JSON.stringify(state.stack));
  const id = ++state.renderId;
  const main = $('#main');
  main.replaceChildren();
  setPrimary(null);
  setBack(state.stack.length > 1);
  // Home is Today: the lists and the settings are one tap from it.
  const home = view.name === 'today';
  $('#settings-button').hidden = !home && view.name !== 'lists';
  $('#lists-button').hidden = !home;
  $('#lists-button').textContent = t('lists_button');
  // Inside Telegram a form needs no bar: Telegram's header names the app, its Back button and
  // MainButton stand for ours, and the title would only repeat the MainButton's text.
  $('#bar').hidden = Boolean(state.tg) && FORM_VIEWS.has(view.name);
  $('#back').setAttribute('aria-label', t('back')); // again: the language may have changed
  $('#settings-button').setAttribute('aria-label', t('settings'));
  (VIEWS[view.name] || todayView)(main, view.params, ctx(id));
  main.focus({ preventScroll: true });
}

function ctx(id) {
  const current = () => id === state.renderId;
  return {
    state, go, back, replaceParams, setTitle, setPrimary, current, toast,
    /** A form's submit as Telegram's MainButton; in a browser the form's own button does it. */
    formPrimary: (text, onClick) => { if (state.tg) setPrimary(text, onClick); },
    setUser(user) {
      state.user = user;
      setLang(pickLang(user.language, state.tg && state.tg.language, navigator.language));
    },
    rerender: render,
    /** Back to the sign-in form; `server: false` when the server has already ended it all. */
    signOut: (message = '', { server = true } = {}) => endSession(message, server),
    /** Show "Loading…" in `box`, run `work`, then `draw` its result, or a message with retry. */
    async load(box, work, draw) {
      box.replaceChildren(h('p', { class: 'muted', text: t('loading') }));
      try {
        const data = await work();
        if (current()) {
          box.replaceChildren();
          draw(data);
        }
      } catch (err) {
        if (err.name === 'AbortError' || !current()) return;
        box.replaceChildren(problemPanel(err, () => this.load(box, work, draw)));
      }
    },
  };
}

// ---------------------------------------------------------------- whole-page states

function problemPanel(err, retry) {
  if (!(err instanceof ApiError)) console.warn(err); // a bug of ours: say something, keep going
  const title = err.offline ? t('offline_title') : err.transient ? t('unavailable_title') : null;
  const button = retry && (!(err instanceof ApiError) || err.transient)
    ? h('button', { type: 'button', class: 'primary', text: t('retry'), onclick: retry })
    : null;
  return h('div', { class: 'panel', role: 'alert' },
    title && h('h2', { text: title }),
    h('p', { text: err instanceof ApiError ? explain(err) : t('err_server') }),
    button);
}

function showPage(...children) {
  state.renderId += 1;
  $('#main').replaceChildren(...children);
  $('#main').focus({ preventScroll: true });
}

function showProblem(err, retry) {
  showChrome(false);
  setTitle(t('app_title'));
  const panel = problemPanel(err, retry);
  showPage(panel);
  const button = panel.querySelector('button');
  if (button) button.focus();
}

/** Telegram's init data was refused: nothing to show but how to get fresh init data. */
function showTelegramInvalid() {
  state.user = null;
  showChrome(false);
  setTitle(t('app_title'));
  showPage(h('div', { class: 'panel', role: 'alert', id: 'tg-invalid' },
    h('h2', { text: t('tg_invalid_title') }),
    h('p', { text: t('tg_invalid_text') })));
}

function showSignIn(message = '', mode = 'signin') {
  state.user = null;
  state.stack = [];
  sessionStorage.removeItem(STACK_KEY);
  showChrome(false);
  setTitle(t(mode === 'signin' ? 'sign_in' : 'register'));
  const registering = mode === 'register';
  const username = h('input', { name: 'username', autocomplete: 'username', required: true,
    minlength: '3', maxlength: '64', autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', required: true,
    autocomplete: registering ? 'new-password' : 'current-password',
    minlength: registering ? '8' : '1', maxlength: '128' });
  const box = messageBox();
  const form = h('form', { class: 'card', id: 'sign-in', novalidate: true },
    field(t('username'), username), field(t('password'), password), box,
    h('button', { type: 'submit', class: 'primary wide', text: t(registering ? 'register' : 'sign_in') }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Empty fields are named before anything is sent ("required", not a length rule). A
    // password of spaces is a password: only the username is trimmed.
    const missing = [[username.value.trim(), username, 'f_username'], [password.value, password, 'f_password']]
      .find(([value]) => !value);
    if (missing) {
      box.show(`${t('err_field', { field: t(missing[2]), message: t('v_missing') })}.`);
      missing[1].focus();
      return;
    }
    const path = registering ? '/api/auth/register' : '/api/auth/login';
    busy(form, async () => {
      const pair = await publicCall('POST', path, { username: username.value.trim(), password: password.value });
      useTokens(pair);
      await start();
    }).catch((err) => box.show(explain(err)));
  });
  const other = h('button', { type: 'button', class: 'link',
    text: t(registering ? 'to_sign_in' : 'to_register'),
    onclick: () => showSignIn('', registering ? 'signin' : 'register') });
  const telegram = state.config.bot
    ? [h('p', { class: 'divider', text: t('or') }),
      h('button', { type: 'button', class: 'telegram wide', id: 'tg-login', text: t('tg_login'), onclick: telegramLogin })]
    : [];
  const brand = h('header', { class: 'brand' },
    h('img', { src: '/app/static/icon.svg', alt: '', width: '56', height: '56' }),
    h('h2', { id: 'app-name', text: t('app_title') }),
    h('p', { class: 'muted', text: t('app_tagline') }));
  showPage(h('section', { class: 'sign-in' }, brand, form, other, ...telegram));
  if (message) box.show(message);
  username.focus();
}

// ---------------------------------------------------------------- Telegram Login Widget

/** Telegram's login page comes back to this page with the signed user in the fragment
 * (#tgAuthResult=<base64 JSON>), so no script of Telegram's runs here. The result is taken
 * only for a sign-in this tab started: a random state goes into sessionStorage and into the
 * return address, and both must match on the way back. Someone else's signed result in a
 * link (login CSRF: signing this browser in to their account) finds no state and is dropped. */
const LOGIN_STATE_KEY = 'assistant.tg-login-state';
const LOGIN_STATE_PARAM = 'tg_state';

function telegramLogin() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const loginState = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  sessionStorage.setItem(LOGIN_STATE_KEY, loginState);
  const query = new URLSearchParams({
    bot_id: String(state.config.bot.id),
    origin: location.origin,
    request_access: 'write',
    return_to: `${location.origin}${location.pathname}?${LOGIN_STATE_PARAM}=${loginState}`,
  });
  location.assign(`https://oauth.telegram.org/auth?${query}`);
}

/** The widget's fields, {} when they cannot be read, 'unasked' for a result this tab did not
 * ask for, null when there is none. */
function widgetResult() {
  const raw = new URLSearchParams(location.hash.slice(1)).get('tgAuthResult');
  const returned = new URLSearchParams(location.search).get(LOGIN_STATE_PARAM);
  const expected = sessionStorage.getItem(LOGIN_STATE_KEY);
  if (!raw && !returned) return null;
  sessionStorage.removeItem(LOGIN_STATE_KEY); // one return per sign-in started
  const query = new URLSearchParams(location.search);
  query.delete(LOGIN_STATE_PARAM);
  const rest = query.toString();
  // The result is a credential: out of the address bar, history and shared links.
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : ''));
  if (!raw) return null;
  if (!expected || returned !== expected) return 'unasked';
  try {
    const json = atob(raw.replace(/-/g, '+').replace(/_/g, '/'));
    const data = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    const fields = ['id', 'first_name', 'last_name', 'username', 'photo_url', 'auth_date', 'hash'];
    return Object.fromEntries(fields.filter((k) => data[k] !== undefined).map((k) => [k, data[k]]));
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- start-up

/** Signed in (by tma or tokens): fetch the user, then show the last view of this tab. */
async function start() {
  showPage(h('p', { class: 'muted center', text: t('loading') }));
  let user;
  try {
    user = await api('GET', '/api/auth/me');
  } catch (err) {
    if (isTelegram() && (err.status === 401 || err.status === 422)) return showTelegramInvalid();
    if (err.status === 401) return showSignIn(t('session_ended'));
    return showProblem(err, start);
  }
  state.user = user;
  setLang(pickLang(user.language, state.tg && state.tg.language, navigator.language));
  showWhoAmI(user);
  // Reminders need the person's time zone: take this device's until they choose one.
  if ('timezone' in user && !user.timezone) {
    api('PATCH', '/api/auth/me', { timezone: deviceZone() })
      .then((updated) => { state.user = updated; })
      .catch(() => {});
  }
  showChrome(true);
  let stack = [];
  try {
    stack = JSON.parse(sessionStorage.getItem(STACK_KEY) || '[]');
  } catch { /* a damaged entry: start from Today */ }
  state.stack = Array.isArray(stack) && stack.length && stack.every((v) => VIEWS[v && v.name])
    ? stack : [{ name: 'today', params: {} }];
  if (ACCOUNT_LINK && !accountShown) {
    accountShown = true; // once per page load: a reload goes back to where the person was
    state.stack = [{ name: 'today', params: {} }, { name: 'settings', params: {} }, { name: 'account', params: {} }];
    // One history entry per view, so Back walks Account → Settings → Today; the #account
    // fragment leaves the address with them (a reload shows where the person is then).
    const url = location.pathname + location.search;
    history.replaceState({ depth: 1 }, '', url);
    state.stack.slice(1).forEach((_, i) => history.pushState({ depth: i + 2 }, '', url));
  } else {
    const join = takeJoinCode(); // an invite link opened this tab: confirm it first
    if (join) state.stack.push({ name: 'join', params: { code: join } });
    history.replaceState({ depth: state.stack.length }, '');
  }
  render();
}

async function endSession(message, server) {
  if (server) await signOut().catch(() => {});
  else forgetSession();
  showSignIn(message);
}

/** A link to the account screen (`/app/#account`, the bot's /me and /password buttons; inside
 * Telegram the launch parameters follow in the same fragment): read before they are cleared. */
const ACCOUNT_LINK = new URLSearchParams(location.hash.slice(1)).has('account');

async function boot() {
  state.tg = telegramLaunch();
  setLang(pickLang(state.tg && state.tg.language, navigator.language));
  $('#back').addEventListener('click', back);
  $('#primary').addEventListener('click', () => primaryHandler && primaryHandler());
  $('#settings-button').addEventListener('click', () => go('settings'));
  $('#lists-button').addEventListener('click', () => go('lists'));
  if (state.tg) {
    document.body.classList.add('in-telegram');
    applyTheme(state.tg.theme, state.tg.colorScheme);
    state.tg.onThemeChange(applyTheme);
    state.tg.ready();
    state.tg.expand();
    useTelegram(state.tg.initData);
    whenSignedOut(showTelegramInvalid);
    return start();
  }
  whenSignedOut(() => showSignIn(t('session_ended')));
  try {
    state.config = await publicCall('GET', '/app/config.json');
  } catch (err) {
    return showProblem(err, boot);
  }
  const widget = widgetResult();
  if (widget === 'unasked') return showSignIn(t('tg_login_unasked'));
  if (widget) {
    try {
      useTokens(await publicCall('POST', '/api/auth/telegram/widget', widget));
    } catch (err) {
      return showSignIn(explain(err));
    }
    return start();
  }
  if (hasRefreshToken()) {
    try {
      await refreshNow();
    } catch (err) {
      if (err.transient) return showProblem(err, boot);
      return showSignIn(t('session_ended'));
    }
    return start();
  }
  return showSignIn();
}

boot();

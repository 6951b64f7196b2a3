// Settings (language, time zone) and the account: password, sessions, Telegram, deletion.
import { api, isTelegram, leaveInitData, useTokens } from './api.js';
import { busy, debounce, field, h, messageBox } from './dom.js';
import { explain, getLang, plural, t } from './i18n.js';
import { deviceZone, formatTime, knownZones, zoneLabel, zoneOf } from './time.js';

const userName = (user) => user.username || user.telegram_username || user.first_name || '';

export function settingsView(main, params, ctx) {
  const user = ctx.state.user;
  ctx.setTitle(t('settings'));
  const language = h('select', { name: 'language' },
    h('option', { value: 'en', text: 'English' }), h('option', { value: 'ru', text: 'Русский' }));
  language.value = user.language || getLang();
  const picker = zonePicker(zoneOf(user));
  const zone = picker.input;
  const useDevice = h('button', { type: 'button', class: 'link', id: 'use-device-zone', text: t('use_device_tz', { tz: zoneLabel(deviceZone()).name }),
    onclick: () => picker.choose(deviceZone()) });
  useDevice.hidden = deviceZone() === zoneOf(user); // nothing to offer: it is the one in use
  const box = messageBox();
  const form = h('form', { class: 'card', id: 'settings-form' },
    // In a browser the bar's #whoami already says it (app.js); inside Telegram only here.
    ctx.state.tg ? h('p', { class: 'muted', text: t('signed_in_as', { name: userName(user) }) }) : null,
    field(t('language'), language), picker, useDevice, box,
    h('button', { type: 'submit', class: 'primary page-primary', text: t('save') }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      const updated = await api('PATCH', '/api/auth/me', { language: language.value, timezone: zone.value });
      ctx.setUser(updated);
      ctx.rerender(); // the new language everywhere, the message after it
      const saved = document.querySelector('#settings-form .message');
      saved.textContent = t('saved');
      saved.className = 'message ok';
    }).catch((err) => box.show(explain(err)));
  });
  main.append(form, notifySection(ctx), calendarSection(ctx), exportSection(ctx),
    h('nav', { class: 'card links' },
      h('button', { type: 'button', class: 'secondary wide', id: 'open-account', text: t('account'),
        onclick: () => ctx.go('account') }),
      isTelegram() ? null : h('button', { type: 'button', class: 'secondary wide', id: 'sign-out',
        text: t('sign_out'), onclick: () => ctx.signOut() })));
  ctx.formPrimary(t('save'), () => form.requestSubmit());
}

const SHOWN = 8;

/** Search-as-you-type over the zones this browser knows; a tap on a result chooses it. The
 * chosen IANA name is the form's value (a hidden input). */
function zonePicker(initial) {
  const input = h('input', { type: 'hidden', name: 'timezone', value: initial });
  const current = h('p', { class: 'zone-current', id: 'zone-current' });
  const search = h('input', { type: 'search', id: 'zone-search', autocomplete: 'off', spellcheck: 'false',
    placeholder: t('tz_search'), 'aria-label': t('tz_search'), 'aria-controls': 'zone-results' });
  const results = h('ul', { class: 'rows zone-results', id: 'zone-results', role: 'listbox', hidden: true });
  let labels = null; // built on first search: ~400 zones, each formatted by Intl
  const show = () => {
    const label = zoneLabel(input.value);
    current.textContent = t('tz_current', { zone: `${label.name} (${label.offset || label.zone})` });
  };
  const wrap = h('div', { class: 'field zone-picker' },
    h('label', { for: 'zone-search', text: t('timezone') }), current, search, results);
  wrap.input = input;
  wrap.choose = (zone) => {
    input.value = zone;
    search.value = '';
    results.hidden = true;
    show();
  };
  search.addEventListener('input', debounce(() => {
    const q = search.value.trim().toLowerCase();
    results.hidden = !q;
    if (!q) return;
    labels = labels || knownZones().map(zoneLabel);
    const words = q.split(/\s+/);
    const text = (l) => `${l.zone} ${l.name} ${l.city} ${l.long} ${l.offset}`.toLowerCase().replace(/_/g, ' ');
    const found = labels.filter((l) => words.every((w) => text(l).includes(w)));
    // Cities whose name starts with the words first ("Mos" → Moscow before Moscow-named zones elsewhere).
    found.sort((a, b) => Number(!a.name.toLowerCase().startsWith(q)) - Number(!b.name.toLowerCase().startsWith(q)));
    results.replaceChildren(...(found.length ? found.slice(0, SHOWN).map((l) => h('li', {},
      h('button', { type: 'button', class: 'zone-option', role: 'option', 'data-zone': l.zone,
        onclick: () => wrap.choose(l.zone) },
      h('span', { text: l.name }), h('small', { class: 'muted', text: [l.zone, l.offset].filter(Boolean).join(' · ') }))))
      : [h('li', { class: 'muted', text: t('tz_none') })]));
  }, 150));
  show();
  wrap.append(input);
  return wrap;
}

export function accountView(main, params, ctx) {
  ctx.setTitle(t('account'));
  main.append(passwordSection(ctx), sessionsSection(ctx), telegramSection(ctx), deleteSection(ctx));
}

function section(id, title, ...children) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h`, text: title }), ...children);
}

function passwordSection(ctx) {
  const user = ctx.state.user;
  const username = user.username ? null : h('input', { name: 'username', autocomplete: 'username', maxlength: '64' });
  const current = user.has_password ? h('input', { name: 'current_password', type: 'password', autocomplete: 'current-password', required: true }) : null;
  const next = h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8', maxlength: '128' });
  const box = messageBox();
  const form = h('form', { id: 'password-form' },
    username && field(t('username'), username, t('no_username_hint')),
    current && field(t('current_password'), current), field(t('new_password'), next), box,
    h('button', { type: 'submit', class: 'primary', text: t(user.has_password ? 'change_password' : 'set_password') }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      if (username && username.value.trim()) {
        ctx.setUser(await api('PATCH', '/api/auth/me', { username: username.value.trim() }));
      }
      const body = { new_password: next.value };
      if (current) body.current_password = current.value;
      const pair = await api('POST', '/api/auth/password', body);
      // Setting a password ends every older sign-in, this app's init data included: from now
      // on this page uses the session the answer opened.
      if (isTelegram()) leaveInitData(pair);
      else useTokens(pair);
      ctx.setUser(await api('GET', '/api/auth/me'));
      form.reset();
      box.show(t('password_changed'), 'ok');
    }).catch((err) => box.show(explain(err, { passwordOnly: true })));
  });
  return section('password', t('password_section'), form);
}

/** "Chrome on Linux" from a user agent, enough to tell one's devices apart. */
function device(agent) {
  if (!agent) return t('unknown_device');
  const browser = [['Edg/', 'Edge'], ['OPR/', 'Opera'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'],
    ['Safari/', 'Safari'], ['Telegram', 'Telegram'], ['curl/', 'curl'], ['python', 'Python']]
    .find(([mark]) => agent.includes(mark));
  const system = [['Android', 'Android'], ['iPhone', 'iPhone'], ['iPad', 'iPad'], ['Windows', 'Windows'],
    ['Mac OS', 'macOS'], ['Linux', 'Linux']].find(([mark]) => agent.includes(mark));
  if (!browser) return agent.slice(0, 60);
  return system ? `${browser[1]} · ${system[1]}` : browser[1];
}

function sessionsSection(ctx) {
  const zone = zoneOf(ctx.state.user);
  const box = messageBox();
  const area = h('div');
  const load = () => ctx.load(area, () => api('GET', '/api/auth/sessions'), ({ items }) => {
    const end = (s) => h('button', { type: 'button', class: 'secondary', text: t('end_session'),
      onclick: (event) => busy(event.target.closest('li'), async () => {
        await api('DELETE', `/api/auth/sessions/${encodeURIComponent(s.id)}`);
        load();
      }).catch((err) => box.show(explain(err))) });
    // Inside Telegram the init data signs each call in, so there may be no session at all.
    if (!items.length) area.append(h('p', { class: 'muted', text: t('no_sessions') }));
    area.append(h('ul', { class: 'rows sessions' }, items.map((s) => h('li', { class: 'session' },
      h('div', {}, h('strong', { text: device(s.user_agent) }),
        s.current ? h('span', { class: 'badge', text: t('this_device') }) : null,
        h('small', { class: 'muted block', text: t('session_meta', {
          created: formatTime(s.created_at, zone), used: formatTime(s.last_used_at || s.created_at, zone) }) })),
      s.current ? null : end(s)))));
    const others = items.filter((s) => !s.current);
    if (others.length) {
      area.append(h('button', { type: 'button', class: 'secondary wide', id: 'end-others', text: t('end_others'),
        onclick: () => busy(area, async () => {
          for (const s of others) await api('DELETE', `/api/auth/sessions/${encodeURIComponent(s.id)}`);
          box.show(t('others_ended'), 'ok');
          load();
        }).catch((err) => box.show(explain(err))) }));
    }
  });
  load();
  const all = h('button', { type: 'button', class: 'danger wide', id: 'logout-all', text: t('logout_all'),
    onclick: () => busy(all.parentElement, async () => {
      await api('POST', '/api/auth/logout-all');
      if (isTelegram()) load();
      else ctx.signOut('', { server: false });
    }).catch((err) => box.show(explain(err))) });
  return section('sessions', t('sessions'), area, box, all);
}

function telegramSection(ctx) {
  const user = ctx.state.user;
  if (user.telegram_id) {
    const name = user.telegram_username ? ` (@${user.telegram_username})` : '';
    const linked = h('p', { text: t('linked', { name }) });
    // Unlinking keeps this account (signed in with its password from then on); inside
    // Telegram the init data would at once make the Telegram side a new account: the web only.
    if (isTelegram() || !user.has_password || !user.username) return section('telegram', t('telegram_section'), linked);
    const box = messageBox();
    const unlink = h('button', { type: 'button', class: 'secondary', id: 'unlink-telegram', text: t('unlink_telegram') });
    unlink.addEventListener('click', () => busy(unlink.parentElement, async () => {
      await api('DELETE', '/api/auth/telegram/link');
      ctx.setUser(await api('GET', '/api/auth/me'));
      ctx.rerender();
    }).catch((err) => box.show(explain(err))));
    return section('telegram', t('telegram_section'), linked, h('p', { class: 'muted', text: t('unlink_hint') }), unlink, box);
  }
  const box = messageBox();
  const result = h('div');
  const button = h('button', { type: 'button', class: 'telegram', id: 'link-telegram', text: t('link_telegram') });
  button.addEventListener('click', () => busy(button.parentElement, async () => {
    const { url, expires_in: seconds } = await api('POST', '/api/auth/telegram/link');
    const minutes = Math.max(1, Math.round(seconds / 60));
    result.replaceChildren(h('p', { text: t('link_hint', { time: plural('minutes_within', minutes) }) }),
      h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'button telegram', text: t('open_link') }));
  }).catch((err) => box.show(explain(err))));
  return section('telegram', t('telegram_section'), button, result, box);
}

function deleteSection(ctx) {
  const user = ctx.state.user;
  const password = user.has_password
    ? h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true })
    : null;
  const check = password ? null : h('input', { type: 'checkbox', name: 'confirm', required: true });
  const box = messageBox();
  const form = h('form', { id: 'delete-form' },
    h('p', { text: t('delete_account_hint') }),
    password ? field(t('confirm_with_password'), password) : h('label', { class: 'check' }, check, ` ${t('confirm_delete_check')}`),
    box, h('button', { type: 'submit', class: 'danger', text: t('confirm_delete') }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (check && !check.checked) return check.focus();
    busy(form, async () => {
      await api('DELETE', '/api/auth/me', password ? { password: password.value } : {});
      sessionStorage.clear();
      if (!isTelegram()) return ctx.signOut(t('account_deleted'), { server: false });
      // Inside Telegram the init data would sign the person up again: stop here.
      ctx.state.user = null;
      ctx.setPrimary(null);
      document.querySelector('#main').replaceChildren(
        h('div', { class: 'panel', role: 'status', id: 'deleted' }, h('h2', { text: t('account_deleted') })));
    }).catch((err) => box.show(explain(err, { passwordOnly: true })));
  });
  return section('delete-account', t('delete_account'), form);
}

// "Calendar feed" and "Export": the texts live here (both languages) to keep the shared
// catalog in i18n.js untouched by this feature.
const DATA_TEXTS = {
  en: {
    calendar: 'Calendar feed', export: 'Your data',
    calendar_off: 'Show your open tasks with a reminder or a due date in Google, Apple or any calendar app, through a private link.',
    calendar_on: 'The feed is on. Add the link below to your calendar app; a new link stops the old one.',
    calendar_hidden: 'The feed is on. Its link was shown when it was made; make a new one to see a link again.',
    turn_on: 'Turn on', new_link: 'New link', turn_off: 'Turn off', copy: 'Copy', copied: 'Copied',
    keep_secret: 'Anyone with this link can see your tasks: keep it to yourself.',
    export_hint: 'Everything kept about you (lists, tasks, reminders, settings) as one JSON file.',
    download: 'Download my data', export_telegram: 'In Telegram, you can also send /export to the bot: it sends the file to the chat.',
  },
  ru: {
    calendar: 'Календарь', export: 'Ваши данные',
    calendar_off: 'Открытые задачи с напоминанием или сроком — в Google, Apple или любом другом календаре, по личной ссылке.',
    calendar_on: 'Календарь включён. Добавьте ссылку ниже в приложение календаря; новая ссылка отключает старую.',
    calendar_hidden: 'Календарь включён. Ссылку показывают один раз, когда она создана; чтобы увидеть ссылку, создайте новую.',
    turn_on: 'Включить', new_link: 'Новая ссылка', turn_off: 'Выключить', copy: 'Копировать', copied: 'Скопировано',
    keep_secret: 'Любой, у кого есть ссылка, видит ваши задачи: не делитесь ею.',
    export_hint: 'Всё, что о вас хранится (списки, задачи, напоминания, настройки), одним файлом JSON.',
    download: 'Скачать мои данные', export_telegram: 'В Telegram можно также отправить боту /export — он пришлёт файл в чат.',
  },
};
const dt = (key) => (DATA_TEXTS[getLang()] || DATA_TEXTS.en)[key];

// Change notifications of shared lists (docs/sharing.md): one switch per user, off by default.
const NOTIFY_TEXTS = {
  en: {
    title: 'Shared lists',
    label: 'Message me in Telegram when someone else changes a shared list',
    hint: 'A burst of changes is one message, about a minute after the first; never about your own changes.',
  },
  ru: {
    title: 'Общие списки',
    label: 'Писать мне в Telegram, когда кто-то другой меняет общий список',
    hint: 'Серия изменений — одно сообщение, примерно через минуту после первого; о ваших изменениях — никогда.',
  },
};
const nt = (key) => (NOTIFY_TEXTS[getLang()] || NOTIFY_TEXTS.en)[key];

function notifySection(ctx) {
  const box = messageBox();
  const check = h('input', { type: 'checkbox', id: 'notify-changes', name: 'notify_changes' });
  check.checked = Boolean(ctx.state.user.notify_changes);
  // Saved at once (the switch is its own form): the answer is the user as now stored.
  check.addEventListener('change', () => busy(check.parentElement, async () => {
    ctx.setUser(await api('PATCH', '/api/auth/me', { notify_changes: check.checked }));
    check.checked = Boolean(ctx.state.user.notify_changes);
    box.show(t('saved'), 'ok');
  }).catch((err) => {
    check.checked = Boolean(ctx.state.user.notify_changes);
    box.show(explain(err));
  }));
  return section('notify', nt('title'), h('label', { class: 'check' }, check, ` ${nt('label')}`),
    h('p', { class: 'muted', text: nt('hint') }), box);
}

function calendarSection(ctx) {
  const box = messageBox();
  const area = h('div');
  const show = (enabled, url) => {
    const buttons = enabled
      ? [h('button', { type: 'button', class: 'secondary', id: 'feed-new', text: dt('new_link'), onclick: () => turnOn() }),
        h('button', { type: 'button', class: 'secondary', id: 'feed-off', text: dt('turn_off'), onclick: () => turnOff() })]
      : [h('button', { type: 'button', class: 'primary', id: 'feed-on', text: dt('turn_on'), onclick: () => turnOn() })];
    const link = url ? h('input', { id: 'feed-url', readonly: true, value: url, onclick: (e) => e.target.select() }) : null;
    const copy = url ? h('button', { type: 'button', class: 'link', text: dt('copy'), onclick: () => {
      navigator.clipboard?.writeText(url).then(() => box.show(dt('copied'), 'ok'), () => link.select());
    } }) : null;
    // replaceChildren writes a null as the text "null": only the parts that are there.
    area.replaceChildren(...[
      h('p', { class: 'muted', text: dt(enabled ? (url ? 'calendar_on' : 'calendar_hidden') : 'calendar_off') }),
      link, copy, url ? h('p', { class: 'muted', text: dt('keep_secret') }) : null, h('div', { class: 'actions' }, ...buttons),
    ].filter(Boolean));
  };
  const turnOn = () => busy(area, async () => {
    const { url } = await api('POST', '/api/calendar/feed');
    show(true, url);
  }).catch((err) => box.show(explain(err)));
  const turnOff = () => busy(area, async () => {
    await api('DELETE', '/api/calendar/feed');
    show(false, null);
  }).catch((err) => box.show(explain(err)));
  ctx.load(area, () => api('GET', '/api/calendar/feed'), ({ enabled }) => show(enabled, null));
  return section('calendar-feed', dt('calendar'), area, box);
}

function exportSection() {
  const box = messageBox();
  const button = h('button', { type: 'button', class: 'secondary wide', id: 'export-data', text: dt('download') });
  button.addEventListener('click', () => busy(button.parentElement, async () => {
    const data = await api('GET', '/api/export');
    const blob = new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' });
    const link = h('a', { href: URL.createObjectURL(blob), download: `tasks-export-${new Date().toISOString().slice(0, 10)}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }).catch((err) => box.show(explain(err))));
  return section('export', dt('export'), h('p', { class: 'muted', text: dt('export_hint') }),
    isTelegram() ? h('p', { class: 'muted', text: dt('export_telegram') }) : null, button, box);
}

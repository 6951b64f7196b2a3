// Shared lists in the Mini App (docs/sharing.md): a list's members and its Share button (an
// invite link for the browser and for Telegram), and the confirmation an invite link opens
// (`/app/#join=<code>`). Who may do what is the server's rule; this only shows its answers.
import { api } from './api.js';
import { busy, h, messageBox } from './dom.js';
import { explain, getLang } from './i18n.js';

const JOIN_KEY = 'assistant.join';

// This module's texts (kept here, not in i18n.js, so sharing stays in one file).
const STRINGS = {
  en: {
    members: 'Members', share: 'Share', create_link: 'Create a link', role: 'Role',
    editor: 'editor', viewer: 'viewer (read only)', owner: 'owner', you: 'you',
    link_web: 'Link for a browser', link_telegram: 'Link for Telegram',
    link_hint: 'Single use, valid for 7 days. Send it to one person.',
    remove: 'Remove', leave: 'Leave the list', shared: 'shared',
    join_title: 'Join a list', join: 'Join', cancel: 'Cancel',
    join_text: '{owner} invites you to the shared list “{list}” as {role}.',
    join_gone: 'This invitation does not work: it has expired, was already used or was revoked. Ask the list’s owner for a new link.',
  },
  ru: {
    members: 'Участники', share: 'Поделиться', create_link: 'Создать ссылку', role: 'Роль',
    editor: 'редактор', viewer: 'читатель (только просмотр)', owner: 'владелец', you: 'вы',
    link_web: 'Ссылка для браузера', link_telegram: 'Ссылка для Telegram',
    link_hint: 'Одноразовая, действует 7 дней. Отправьте её одному человеку.',
    remove: 'Удалить', leave: 'Выйти из списка', shared: 'общий',
    join_title: 'Общий список', join: 'Присоединиться', cancel: 'Отмена',
    join_text: '{owner} приглашает вас в общий список «{list}»: вы будете {role}.',
    join_gone: 'Это приглашение не действует: срок истёк, им уже воспользовались или его отозвали. Попросите владельца списка о новой ссылке.',
  },
};

function s(key, vars = {}) {
  const text = (STRINGS[getLang()] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

const enc = encodeURIComponent;

// An invite link's code is taken out of the address at once (it is a credential of sorts) and
// kept for this tab until the person is signed in and has seen the confirmation.
(function stashJoinCode() {
  const code = new URLSearchParams(location.hash.slice(1)).get('join');
  if (!code) return;
  sessionStorage.setItem(JOIN_KEY, code);
  history.replaceState(history.state, '', location.pathname + location.search);
}());

/** The invite code an opened link left for this tab (once), or null. */
export function takeJoinCode() {
  const code = sessionStorage.getItem(JOIN_KEY);
  sessionStorage.removeItem(JOIN_KEY);
  return code;
}

/** A small "shared" mark for a list row that other people see too. */
export function sharedBadge(list) {
  return Number(list.members_count) > 1 ? h('span', { class: 'badge shared', text: s('shared') }) : null;
}

/** The confirmation an invite opens: the list, its owner, the role; Join or Cancel. */
export function joinView(main, params, ctx) {
  ctx.setTitle(s('join_title'));
  const box = messageBox();
  const area = h('section', { class: 'card', id: 'join' });
  main.append(area, box);
  const top = () => ctx.state.stack[ctx.state.stack.length - 1];
  const draw = (invite) => {
    const join = h('button', { type: 'button', class: 'primary', id: 'join-yes', text: s('join') });
    join.addEventListener('click', () => busy(area, async () => {
      const list = await api('POST', `/api/invites/${enc(params.code)}/accept`);
      Object.assign(top(), { name: 'list', params: { id: list.id } }); // the join view becomes the list
      ctx.rerender();
    }).catch((err) => box.show(err.status === 404 ? s('join_gone') : explain(err))));
    area.replaceChildren(
      h('p', { id: 'join-text', text: s('join_text', { owner: invite.owner_name, list: invite.list_name, role: s(invite.role) }) }),
      h('div', { class: 'list-actions' }, join,
        h('button', { type: 'button', class: 'secondary', text: s('cancel'), onclick: () => ctx.back() })));
    join.focus();
  };
  area.append(h('p', { class: 'muted', text: '…' }));
  api('GET', `/api/invites/${enc(params.code || '')}`).then((invite) => {
    if (ctx.current()) draw(invite);
  }).catch((err) => {
    // An unknown, used, revoked or expired code: said in words, not "not found".
    if (!ctx.current()) return;
    area.replaceChildren(h('p', { class: 'message error', role: 'alert', id: 'join-gone',
      text: err.status === 404 ? s('join_gone') : explain(err) }));
  });
}

/** Under a list of one's own or a shared one: its members, and for the owner, Share. */
export function sharingPanel(list, ctx) {
  const panel = h('section', { class: 'sharing', id: 'sharing' });
  const box = messageBox();
  const members = h('div', { id: 'members' });
  const owner = list.role === 'owner';
  const showMembers = () => ctx.load(members, () => api('GET', `/api/lists/${enc(list.id)}/members`),
    ({ items }) => members.append(
      h('h2', { class: 'section-title', text: s('members') }),
      h('ul', { class: 'rows', id: 'member-rows' }, items.map((m) => memberRow(m)))));

  function memberRow(m) {
    const me = ctx.state.user && m.user_id === ctx.state.user.id;
    const label = `${m.name}${me ? ` (${s('you')})` : ''} · ${s(m.role)}`;
    let action = null;
    if (owner && !m.owner) action = h('button', { type: 'button', class: 'link danger', text: s('remove') });
    if (!owner && me) action = h('button', { type: 'button', class: 'link danger', id: 'leave', text: s('leave') });
    if (action) {
      action.addEventListener('click', () => busy(panel, async () => {
        await api('DELETE', `/api/lists/${enc(list.id)}/members/${enc(m.user_id)}`);
        if (me) ctx.back();
        else ctx.rerender();
      }).catch((err) => box.show(explain(err))));
    }
    return h('li', { class: 'member', 'data-user': m.user_id }, h('span', { text: label }), action);
  }

  function sharing() {
    const role = h('select', { id: 'share-role', 'aria-label': s('role') },
      h('option', { value: 'editor', text: s('editor') }), h('option', { value: 'viewer', text: s('viewer') }));
    const links = h('div', { id: 'share-links' });
    const form = h('form', { class: 'inline-form', id: 'share-form' }, role,
      h('button', { type: 'submit', class: 'primary', text: s('create_link') }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(form, async () => {
        const invite = await api('POST', `/api/lists/${enc(list.id)}/invites`, { role: role.value });
        const link = (label, url, id) => url && h('div', { class: 'field' },
          h('label', { for: id, text: label }),
          h('input', { id, readonly: true, value: url, onfocus: (e) => e.target.select() }));
        links.replaceChildren(link(s('link_web'), invite.web_url, 'share-web'),
          link(s('link_telegram'), invite.telegram_url, 'share-telegram'),
          h('small', { class: 'hint', text: s('link_hint') }));
      }).catch((err) => box.show(explain(err)));
    });
    share.replaceWith(form);
    form.after(links);
    role.focus();
  }

  const share = owner ? h('button', { type: 'button', class: 'secondary', id: 'share', text: s('share'), onclick: sharing }) : null;
  panel.append(...[share, members, box].filter(Boolean));
  if (!owner || Number(list.members_count) > 1) showMembers();
  return panel;
}

// A shared list on screen is polled so that other members' changes show without a reload.
// Each poll is a conditional GET: `If-None-Match` with the ETag of the previous answer, so an
// unchanged page is a bodiless 304 (the page's fetches are `no-store`, so the browser would
// not add it by itself). The view is redrawn only when what it shows changed. Stops when the
// view does; pauses while hidden.
const POLL_MS = 3000;

export function pollShared(list, ctx, path) {
  if (Number(list.members_count) <= 1) return;
  let last = null;
  let etag = null;
  const tick = async () => {
    if (!ctx.current()) return; // another view (or a redraw) took over: this poll ends
    if (!document.hidden) {
      try {
        const answer = await api('GET', path(), undefined,
          { full: true, headers: etag ? { 'If-None-Match': etag } : {} });
        if (answer.status !== 304) { // 304: nothing changed since the last answer
          etag = answer.etag;
          // What a row shows (its version included: any change to the task).
          const seen = JSON.stringify(answer.data.items.map((task) => [task.id, task.version, task.updated_at, task.done]));
          if (last !== null && seen !== last) {
            if (ctx.current()) ctx.rerender();
            return;
          }
          last = seen;
        }
      } catch { /* offline for a moment: the next tick tries again */ }
    }
    setTimeout(tick, POLL_MS);
  };
  tick();
}

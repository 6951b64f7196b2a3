// The lists (home, with search as you type) and one list's tasks.
import { api } from './api.js';
import { c as conflictText, currentOf, ifMatch } from './conflict.js';
import { busy, debounce, h, messageBox } from './dom.js';
import { explain, plural, t } from './i18n.js';
import { pollShared, sharedBadge, sharingPanel } from './sharing.js';

/** The user's lists, fetched again whenever a screen needs them fresh (counts change). */
export async function fetchLists(ctx) {
  const { items } = await api('GET', '/api/lists');
  ctx.state.lists = items;
  return items;
}

/** A name refused as taken that is a built-in list's ("Inbox", "Входящие"): say that, not
 * "you already have a list with this name", which sends one looking for a list of theirs. */
export function reservedOr(err, name, ctx) {
  const slug = ((err.problem || {}).type || '').replace('urn:problem:', '');
  const builtIn = (ctx.state.lists || []).find((l) => l.key && l.name.toLowerCase() === name.toLowerCase());
  return slug === 'list-name-taken' && builtIn ? t('err_reserved_name', { name: builtIn.name }) : explain(err);
}

export function listName(ctx, id) {
  const list = (ctx.state.lists || []).find((l) => l.id === id || l.key === id);
  return list ? list.name : '';
}

/** A plain list's page, soonest first (the server keeps a plain list newest first and pages it
 * so; Today comes sorted by the server and is never re-sorted here). Tasks without a time
 * follow in the server's order. */
const instant = (task) => {
  const at = task.remind_at || task.due;
  return at ? Date.parse(at) : Infinity;
};
const byTime = (tasks) => tasks.map((task, i) => [task, i])
  .sort(([a, i], [b, j]) => (instant(a) - instant(b)) || (i - j)).map(([task]) => task);

/** The row's second line, all in the server's words (`server/services/dates/humanize.py`, the
 * bot's formatter): the time (`when_text`), a due time apart from it (`due_text`), the repeat
 * (`repeat_text`), and the list when rows of several are mixed (`showList`: true), or only
 * when the list is shared (`'shared'`: Today, where a shared list's task says whose day it
 * comes from, "👥 Groceries", as the bot's /today does). The page formats no time. */
function metaText(task, ctx, showList) {
  const list = (ctx.state.lists || []).find((l) => l.id === task.list_id);
  const shared = showList === 'shared' && list && Number(list.members_count) > 1;
  return [
    task.when_text,
    task.due_text && t('due_short', { time: task.due_text }),
    task.repeat_text && `↻ ${task.repeat_text}`,
    showList === true && listName(ctx, task.list_id) && t('in_list', { name: listName(ctx, task.list_id) }),
    shared && `👥 ${list.name}`,
  ].filter(Boolean).join(' · ');
}

// Based on the version the row shows (If-Match): a row that is out of date is not acted on.
const PATCH = (task, body) => api('PATCH', `/api/tasks/${encodeURIComponent(task.id)}`, body,
  { headers: ifMatch(task) });

/** One task: a checkbox to complete it (with Undo), its title, which opens the editor, and a
 * menu to move it. `onChange(task)` runs after each change the row makes (counts, or the
 * whole of Today, to fetch again); `leaves(task)` says whether the task no longer belongs on
 * this screen (then the row goes). */
export function taskRow(task, ctx, options = {}) {
  const { showList = false, onChange = () => {}, leaves = () => false } = options;
  const box = h('input', { type: 'checkbox', checked: Boolean(task.done) });
  const label = () => t(task.done ? 'mark_open' : 'mark_done', { title: task.title });
  box.setAttribute('aria-label', label());
  const row = h('li', { class: `task${task.done ? ' done' : ''}`, 'data-id': task.id });
  const place = { parent: null, next: null };

  /** Change the task on the server and show the row as the result says. */
  async function change(body) {
    Object.assign(task, await PATCH(task, body));
    row.classList.toggle('done', Boolean(task.done));
    box.checked = Boolean(task.done);
    box.setAttribute('aria-label', label());
    meta.textContent = metaText(task, ctx, showList);
    meta.classList.toggle('overdue', Boolean(task.overdue));
    if (leaves(task) && row.parentElement) {
      place.parent = row.parentElement;
      place.next = row.nextSibling;
      row.remove();
    } else if (!leaves(task) && !row.parentElement && place.parent) {
      place.parent.insertBefore(row, place.next && place.next.parentElement ? place.next : null);
    }
    await onChange(task);
  }

  box.addEventListener('change', async () => {
    box.disabled = true;
    const done = box.checked;
    try {
      await change({ done });
      if (done) ctx.toast(t('completed', { title: task.title }), () => undo({ done: false }));
    } catch (err) {
      box.checked = !done;
      if (!outdated(err)) row.append(h('p', { class: 'message error', role: 'alert', text: explain(err) }));
    } finally {
      box.disabled = false;
    }
  });
  const meta = h('span', { class: `task-meta${task.overdue ? ' overdue' : ''}` });
  meta.textContent = metaText(task, ctx, showList);
  const open = h('button', { type: 'button', class: 'task-open', onclick: () => ctx.go('task', { id: task.id }) },
    h('span', { class: 'task-title', text: task.title }), meta);
  const more = h('button', { type: 'button', class: 'icon more', text: '⋯', 'aria-haspopup': 'true',
    'aria-expanded': 'false', 'aria-label': t('task_menu', { title: task.title }) });
  more.addEventListener('click', () => {
    const shown = row.querySelector('.row-menu');
    document.querySelectorAll('.row-menu').forEach((m) => m.remove());
    document.querySelectorAll('.more[aria-expanded="true"]').forEach((b) => b.setAttribute('aria-expanded', 'false'));
    if (shown) return;
    more.setAttribute('aria-expanded', 'true');
    row.append(rowMenu(task, ctx, async (list) => {
      const from = task.list_id;
      try {
        await change({ list: list.id });
      } catch (err) {
        if (outdated(err)) return;
        throw err;
      }
      ctx.toast(t('moved', { name: list.name }), () => undo({ list: from }));
    }));
  });
  row.append(box, open, more);

  /** Undo, from the toast: refused too when someone changed the task since (the toast says
   * so, the row shows the task as it is now). */
  const undo = (body) => change(body).catch((err) => {
    outdated(err);
    throw err;
  });

  /** Someone else changed the task since this row was drawn (the server's 409 with it as it
   * is now): the row is drawn again from that, and says so; the person decides again. */
  function outdated(err) {
    const current = currentOf(err);
    if (!current || !row.parentElement) return false;
    const fresh = taskRow(current, ctx, options);
    fresh.append(h('p', { class: 'message error', role: 'alert', id: 'row-conflict', text: conflictText('row') }));
    row.replaceWith(fresh);
    return true;
  }
  return row;
}

/** Move to any other list in one tap, and Edit; the menu closes itself after a choice. */
function rowMenu(task, ctx, move) {
  const box = messageBox();
  const targets = (ctx.state.lists || []).filter((l) => l.id !== task.list_id);
  const menu = h('div', { class: 'row-menu', role: 'group', 'aria-label': t('move_to') },
    h('span', { class: 'muted', text: t('move_to') }),
    targets.map((list) => h('button', { type: 'button', class: 'secondary chip', 'data-list': list.key || list.id,
      text: list.name, onclick: () => busy(menu, async () => {
        await move(list);
        menu.remove();
      }).catch((err) => box.show(explain(err))) })),
    h('button', { type: 'button', class: 'link', text: t('edit'), onclick: () => ctx.go('task', { id: task.id }) }),
    box);
  return menu;
}

/** "3 open tasks" for a list, kept up to date as rows change (the lists are fetched again). */
function countLine(ctx, listId) {
  const line = h('p', { class: 'muted count-line', 'aria-live': 'polite' });
  line.refresh = (lists = ctx.state.lists) => {
    const list = (lists || []).find((l) => l.id === listId || l.key === listId);
    const n = list ? Number(list.open_count) || 0 : 0;
    line.textContent = n ? plural('open_tasks', n) : ''; // "0 open tasks" says nothing the screen does not
  };
  line.update = () => fetchLists(ctx).then((lists) => ctx.current() && line.refresh(lists)).catch(() => {});
  return line;
}

/** Home: the server's Today (`GET /api/tasks?list=today`: what is due or reminds today,
 * overdue included, from any list, plus what was put in Today by hand), in the server's order.
 * Which tasks belong and in what order is the server's rule (`Tasks.today`): after every
 * change a row makes, Today is fetched again and drawn as the server says. */
export function todayView(main, params, ctx) {
  ctx.setTitle(t('today'));
  ctx.setPrimary(t('new_task'), () => ctx.go('task', { list: 'today' }));
  const body = h('section', { id: 'today' });
  main.append(body);
  const fetchToday = () => Promise.all([fetchLists(ctx),
    api('GET', `/api/tasks?${new URLSearchParams({ list: 'today', status: 'open', limit: '100' })}`)]);
  const draw = ([lists, page]) => {
    const count = countLine(ctx, 'today');
    count.refresh(lists);
    const ul = h('ul', { class: 'rows', id: 'task-rows' });
    // A change (done, undone, moved) may take the task off Today or put it back elsewhere in
    // the order: the server's answer says which. A failed refresh keeps the rows as they are.
    const onChange = () => fetchToday()
      .then((fresh) => { if (ctx.current()) { body.replaceChildren(); draw(fresh); } })
      .catch(() => {});
    page.items.forEach((task) => ul.append(taskRow(task, ctx, { onChange, showList: 'shared' })));
    body.append(count, ul);
    if (!page.items.length) body.append(onboarding(ctx, lists));
    // Inbox one tap away, with its count, while it holds anything: what has no time yet is
    // reached (and ticked) in two taps, not three through the lists page.
    const inbox = lists.find((l) => l.key === 'inbox');
    if (inbox && Number(inbox.open_count)) body.append(h('ul', { class: 'rows', id: 'today-inbox' }, listRow(inbox, ctx)));
  };
  ctx.load(body, fetchToday, draw);
}

/** The first-run hint on an empty Today: what to type (examples to tap), where the lists are. */
function onboarding(ctx, lists) {
  const fresh = lists.every((l) => !Number(l.open_count));
  const examples = t('onb_examples').split('|');
  return h('div', { class: 'card onboarding', id: 'onboarding' },
    h('h2', { text: fresh ? t('onb_title') : t('today_done') }),
    fresh && h('p', { text: t('onb_text') }),
    h('div', { class: 'examples' }, examples.map((text) => h('button', { type: 'button', class: 'secondary chip example',
      text, onclick: () => ctx.go('task', { list: 'today', text }) }))),
    fresh && h('p', { class: 'muted', text: t('onb_lists') }));
}

function listRow(list, ctx) {
  const count = Number(list.open_count) || 0;
  return h('li', {},
    h('button', { type: 'button', class: 'list-row', 'data-key': list.key || undefined,
      onclick: () => ctx.go('list', { id: list.id }) },
    h('span', { class: 'list-name', text: list.name }), sharedBadge(list),
    // An empty list shows no badge: a column of zeros says nothing.
    count ? h('span', { class: 'count', text: String(count), 'aria-label': plural('open_tasks', count),
      title: plural('open_tasks', count) }) : null));
}

/** The lists with their open counts, search over all tasks, and a new list. */
export function listsView(main, params, ctx) {
  ctx.setTitle(t('lists'));
  ctx.setPrimary(t('new_task'), () => ctx.go('task', { list: 'inbox' }));
  const search = h('input', { type: 'search', id: 'search', placeholder: t('search_placeholder'),
    'aria-label': t('search_label'), autocomplete: 'off', enterkeyhint: 'search' });
  const results = h('section', { id: 'results', 'aria-live': 'polite', hidden: true });
  const lists = h('section', { id: 'lists' });
  const newName = h('input', { name: 'name', maxlength: '100', required: true, 'aria-label': t('new_list_name'),
    placeholder: t('new_list') });
  const box = messageBox();
  const form = h('form', { class: 'inline-form', id: 'new-list', hidden: true }, newName,
    h('button', { type: 'submit', class: 'secondary', text: t('add') }));
  // The field opens on demand: a screen of lists, not a form, is what one comes here for.
  const opener = h('button', { type: 'button', class: 'link', id: 'new-list-button', text: t('new_list_button'),
    onclick: () => { opener.hidden = true; form.hidden = false; newName.focus(); } });
  main.append(h('div', { class: 'search' }, search), results, lists, opener, form, box);

  const drawLists = (items) => lists.append(h('ul', { class: 'rows' }, items.map((l) => listRow(l, ctx))));
  ctx.load(lists, () => fetchLists(ctx), drawLists);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = newName.value.trim();
    if (!name) return;
    busy(form, async () => {
      await api('POST', '/api/lists', { name });
      newName.value = '';
      box.show('');
      await ctx.load(lists, () => fetchLists(ctx), drawLists);
    }).catch((err) => box.show(reservedOr(err, name, ctx)));
  });

  // Search as you type: a new keystroke cancels the request still in flight, so an older,
  // slower answer can never replace a newer one.
  let inFlight = null;
  const runSearch = debounce(async () => {
    const q = search.value.trim();
    if (inFlight) inFlight.abort();
    results.hidden = !q;
    lists.hidden = Boolean(q);
    opener.hidden = Boolean(q) || !form.hidden;
    if (!q) return;
    inFlight = new AbortController();
    const query = new URLSearchParams({ q, status: 'all', limit: '20' });
    const { signal } = inFlight;
    ctx.load(results, async () => {
      if (!ctx.state.lists) await fetchLists(ctx);
      return api('GET', `/api/tasks?${query}`, undefined, { signal });
    }, ({ items }) => {
      results.append(items.length
        ? h('ul', { class: 'rows' }, items.map((task) => taskRow(task, ctx, { showList: true })))
        : h('p', { class: 'muted', text: t('nothing_found') }));
    });
  }, 250);
  search.addEventListener('input', runSearch);
}

/** One list: its open (or completed) tasks, soonest first, more on demand; rename and delete
 * for own lists. The list and its first page load together: one answer, or one problem panel
 * with one Retry for the whole screen. */
export function listView(main, params, ctx) {
  const status = params.status === 'done' ? 'done' : 'open';
  const body = h('div');
  main.append(body);
  ctx.setPrimary(t('add_task'), () => ctx.go('task', { list: params.id }));
  const query = (cursor) => new URLSearchParams({ list: params.id, status, limit: '50', ...(cursor ? { cursor } : {}) });

  ctx.load(body, async () => {
    const [lists, page] = await Promise.all([fetchLists(ctx), api('GET', `/api/tasks?${query()}`)]);
    return { list: lists.find((l) => l.id === params.id) || null, page };
  }, ({ list, page }) => {
    if (!list) {
      body.append(h('p', { class: 'message error', role: 'alert', text: t('err_not_found') }));
      return;
    }
    ctx.setTitle(list.name);
    const head = h('div', { class: 'list-head' });
    const tasks = h('section', { id: 'tasks' });
    const count = countLine(ctx, list.id);
    count.refresh();
    const toggle = h('button', { type: 'button', class: 'link', id: 'toggle-done',
      text: t(status === 'open' ? 'show_done' : 'show_open'),
      onclick: () => ctx.replaceParams({ ...params, status: status === 'open' ? 'done' : 'open' }) });
    head.append(count, toggle);
    // Shared lists: a viewer may not rename or delete; the members and Share: sharing.js.
    if (!list.key && list.role !== 'viewer') head.append(ownListActions(list, ctx));
    if (!list.key) head.append(sharingPanel(list, ctx));
    body.append(head, tasks);
    pollShared(list, ctx, () => `/api/tasks?${query()}`);

    // A row leaves when its task no longer belongs here: completed (or reopened), or moved.
    const leaves = (task) => task.list_id !== list.id || Boolean(task.done) !== (status === 'done');
    const onChange = () => count.update();
    const ul = h('ul', { class: 'rows', id: 'task-rows' });
    const draw = ({ items, next_cursor: next }) => {
      byTime(items).forEach((task) => ul.append(taskRow(task, ctx, { onChange, leaves })));
      if (!ul.children.length) tasks.append(h('p', { class: 'muted', text: t(status === 'open' ? 'no_tasks' : 'no_done') }));
      if (next) {
        const more = h('button', { type: 'button', class: 'secondary wide', text: t('load_more') });
        more.addEventListener('click', () => {
          more.remove();
          const slot = h('div');
          tasks.append(slot);
          ctx.load(slot, () => api('GET', `/api/tasks?${query(next)}`), draw);
        });
        tasks.append(more);
      }
    };
    tasks.append(ul);
    draw(page);
  });
}

/** Rename and delete, each confirmed inline (Telegram's webviews may not show confirm()). */
function ownListActions(list, ctx) {
  const box = messageBox();
  const area = h('div', { class: 'list-actions' });
  const reset = () => area.replaceChildren(
    h('button', { type: 'button', class: 'secondary', text: t('rename'), onclick: renaming }),
    // Deleting is the owner's alone (a shared list's editor may rename it).
    ...(list.role === 'owner' ? [h('button', { type: 'button', class: 'danger', text: t('delete'), onclick: deleting })] : []),
    box);
  function renaming() {
    const name = h('input', { value: list.name, maxlength: '100', required: true,
      'aria-label': t('rename_list', { name: list.name }) });
    const form = h('form', { class: 'inline-form' }, name,
      h('button', { type: 'submit', class: 'primary', text: t('save') }),
      h('button', { type: 'button', class: 'secondary', text: t('cancel'), onclick: reset }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(form, async () => {
        await api('PATCH', `/api/lists/${encodeURIComponent(list.id)}`, { name: name.value.trim() });
        ctx.rerender();
      }).catch((err) => box.show(reservedOr(err, name.value.trim(), ctx)));
    });
    area.replaceChildren(form, box);
    name.focus();
  }
  function deleting() {
    const yes = h('button', { type: 'button', class: 'danger', text: t('delete') });
    yes.addEventListener('click', () => busy(area, async () => {
      await api('DELETE', `/api/lists/${encodeURIComponent(list.id)}`);
      ctx.back();
    }).catch((err) => box.show(explain(err))));
    area.replaceChildren(h('p', { text: t('delete_list_confirm', { name: list.name }) }), yes,
      h('button', { type: 'button', class: 'secondary', text: t('cancel'), onclick: reset }), box);
    yes.focus();
  }
  reset();
  return area;
}

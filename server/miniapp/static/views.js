// The lists (home, with search as you type) and one list's tasks.
import { api } from './api.js';
import { busy, debounce, h, messageBox } from './dom.js';
import { explain, plural, t } from './i18n.js';
import { pollShared, sharedBadge, sharingPanel } from './sharing.js';
import { formatTime, repeatText, zoneOf } from './time.js';

/** The user's lists, fetched again whenever a screen needs them fresh (counts change). */
export async function fetchLists(ctx) {
  const { items } = await api('GET', '/api/lists');
  ctx.state.lists = items;
  return items;
}

export function listName(ctx, id) {
  const list = (ctx.state.lists || []).find((l) => l.id === id || l.key === id);
  return list ? list.name : '';
}

const sameInstant = (a, b) => Boolean(a && b) && new Date(a).getTime() === new Date(b).getTime();

/** One task: a checkbox to complete it, and its title, which opens the editor. */
export function taskRow(task, ctx, { showList = false } = {}) {
  const zone = zoneOf(ctx.state.user);
  const box = h('input', { type: 'checkbox', checked: Boolean(task.done) });
  const label = () => t(task.done ? 'mark_open' : 'mark_done', { title: task.title });
  box.setAttribute('aria-label', label());
  const row = h('li', { class: `task${task.done ? ' done' : ''}`, 'data-id': task.id });
  box.addEventListener('change', async () => {
    box.disabled = true;
    try {
      Object.assign(task, await api('PATCH', `/api/tasks/${encodeURIComponent(task.id)}`, { done: box.checked }));
      row.classList.toggle('done', Boolean(task.done));
      box.setAttribute('aria-label', label());
    } catch (err) {
      box.checked = !box.checked;
      row.append(h('p', { class: 'message error', role: 'alert', text: explain(err) }));
    } finally {
      box.disabled = false;
    }
  });
  const meta = [
    // Words rather than emoji: not every system has an emoji font.
    task.remind_at && `${t('u_remind')}: ${formatTime(task.remind_at, zone)}`,
    task.repeat && `↻ ${repeatText(task.repeat)}`,
    // A time read from words is both (the parser's due is its reminder): say it once.
    task.due && !sameInstant(task.due, task.remind_at) && `${t('u_due')}: ${formatTime(task.due, zone)}`,
    showList && listName(ctx, task.list_id) && t('in_list', { name: listName(ctx, task.list_id) }),
  ].filter(Boolean).join(' · ');
  const open = h('button', { type: 'button', class: 'task-open', onclick: () => ctx.go('task', { id: task.id }) },
    h('span', { class: 'task-title', text: task.title }),
    meta && h('span', { class: 'task-meta', text: meta }));
  row.append(box, open);
  return row;
}

function listRow(list, ctx) {
  const count = Number(list.open_count) || 0;
  return h('li', {},
    h('button', { type: 'button', class: 'list-row', 'data-key': list.key || undefined,
      onclick: () => ctx.go('list', { id: list.id }) },
    h('span', { class: 'list-name', text: list.name }), sharedBadge(list),
    h('span', { class: 'count', text: String(count), 'aria-label': plural('open_tasks', count),
      title: plural('open_tasks', count) })));
}

/** Home: search, the lists with their open counts, and a new list. */
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
  const form = h('form', { class: 'inline-form', id: 'new-list' }, newName,
    h('button', { type: 'submit', class: 'secondary', text: t('add') }));
  main.append(h('div', { class: 'search' }, search), results, lists, form, box);

  const drawLists = (items) => lists.append(h('ul', { class: 'rows' }, items.map((l) => listRow(l, ctx))));
  ctx.load(lists, () => fetchLists(ctx), drawLists);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!newName.value.trim()) return;
    busy(form, async () => {
      await api('POST', '/api/lists', { name: newName.value.trim() });
      newName.value = '';
      box.show('');
      await ctx.load(lists, () => fetchLists(ctx), drawLists);
    }).catch((err) => box.show(explain(err)));
  });

  // Search as you type: a new keystroke cancels the request still in flight, so an older,
  // slower answer can never replace a newer one.
  let inFlight = null;
  const runSearch = debounce(async () => {
    const q = search.value.trim();
    if (inFlight) inFlight.abort();
    results.hidden = !q;
    lists.hidden = Boolean(q);
    form.hidden = Boolean(q);
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

/** One list: its open (or completed) tasks, more on demand; rename and delete for own lists. */
export function listView(main, params, ctx) {
  const status = params.status === 'done' ? 'done' : 'open';
  const head = h('div', { class: 'list-head' });
  const tasks = h('section', { id: 'tasks' });
  main.append(head, tasks);
  ctx.setPrimary(t('add_task'), () => ctx.go('task', { list: params.id }));

  ctx.load(head, async () => {
    await fetchLists(ctx);
    return ctx.state.lists.find((l) => l.id === params.id) || null;
  }, (list) => {
    if (!list) {
      head.append(h('p', { class: 'message error', role: 'alert', text: t('err_not_found') }));
      return;
    }
    ctx.setTitle(list.name);
    const toggle = h('button', { type: 'button', class: 'link', id: 'toggle-done',
      text: t(status === 'open' ? 'show_done' : 'show_open'),
      onclick: () => ctx.replaceParams({ ...params, status: status === 'open' ? 'done' : 'open' }) });
    head.append(h('p', { class: 'muted', text: plural('open_tasks', Number(list.open_count) || 0) }), toggle);
    // Shared lists: a viewer may not rename or delete; the members and Share: sharing.js.
    if (!list.key && list.role !== 'viewer') head.append(ownListActions(list, ctx));
    if (!list.key) head.append(sharingPanel(list, ctx));
    pollShared(list, ctx, () => `/api/tasks?${query()}`);
  });

  const draw = ({ items, next_cursor: next }, list = null) => {
    const ul = list || h('ul', { class: 'rows', id: 'task-rows' });
    items.forEach((task) => ul.append(taskRow(task, ctx)));
    if (!list) tasks.append(ul);
    if (!ul.children.length) tasks.append(h('p', { class: 'muted', text: t(status === 'open' ? 'no_tasks' : 'no_done') }));
    if (next) {
      const more = h('button', { type: 'button', class: 'secondary wide', text: t('load_more') });
      more.addEventListener('click', () => {
        more.remove();
        const slot = h('div');
        tasks.append(slot);
        ctx.load(slot, () => api('GET', `/api/tasks?${query(next)}`), (page) => draw(page, ul));
      });
      tasks.append(more);
    }
  };
  const query = (cursor) => new URLSearchParams({ list: params.id, status, limit: '50', ...(cursor ? { cursor } : {}) });
  ctx.load(tasks, () => api('GET', `/api/tasks?${query()}`), (page) => draw(page));
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
      }).catch((err) => box.show(explain(err)));
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

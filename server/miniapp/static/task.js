// Adding a task (one natural-language field, read by the server as you type) and editing one
// (title, notes, list = move, reminder, due, repeat, done, delete).
import { api } from './api.js';
import { conflictPanel, currentOf, ifMatch } from './conflict.js';
import { busy, debounce, field, h, messageBox } from './dom.js';
import { explain, has, t } from './i18n.js';
import { fromInputValue, toInputValue, zoneLabel, zoneOf } from './time.js';
import { fetchLists } from './views.js';

// The usual repeats of the editor's select, named by the page's vocabulary (a label for each,
// not a reading of rules); any other rule is named by the server's `repeat_text`.
const REPEATS = ['', 'FREQ=DAILY', 'FREQ=WEEKLY', 'FREQ=MONTHLY', 'FREQ=YEARLY'];
const repeatLabel = (rule) => (rule ? t(`rep1_${rule.slice(5)}`) : t('repeat_none'));

// A server without the parser route (404) is asked no more while this page runs: tasks are
// then saved with the words as their title.
let parserMissing = false;

/** The words read in the zone this page shows times in (the account's, else this device's):
 * right after a first sign-in the account may not have its zone yet. */
function askParser(text, timezone, signal) {
  if (parserMissing) return Promise.resolve(null);
  return api('POST', '/api/tasks/parse', { text, timezone }, { signal }).catch((err) => {
    // A zone this device names but the server's time-zone data lacks: read the text in the
    // account's zone instead of not reading it at all.
    if (err.status === 422 && timezone) return askParser(text, undefined, signal);
    if (err.status !== 404 && err.status !== 405) throw err;
    parserMissing = true;
    return null;
  });
}

function listSelect(lists, selected) {
  const select = h('select', { name: 'list' },
    lists.map((l) => h('option', { value: l.id, text: l.name })));
  const match = lists.find((l) => l.id === selected || l.key === selected) || lists[0];
  if (match) select.value = match.id;
  return select;
}

export function taskView(main, params, ctx) {
  ctx.setTitle(params.id ? t('u_title') : t('new_task'));
  const area = h('div');
  main.append(area);
  ctx.load(area, async () => {
    const lists = await fetchLists(ctx);
    const task = params.id ? await api('GET', `/api/tasks/${encodeURIComponent(params.id)}`) : null;
    return { lists, task };
  }, ({ lists, task }) => (task ? editForm(area, task, lists, ctx) : addForm(area, params, lists, ctx)));
}

/** What the parser understood, as a small definition list that updates as one types. When
 * the time is unclear (the parser's `clarify`: "at 7" morning or evening, a date read two
 * ways, a time already past), the readings it offers are buttons, and "no reminder" keeps the
 * words in the title: nothing typed is dropped without the person choosing it. */
function understoodBox() {
  const dl = h('dl', { class: 'understood', id: 'understood', 'aria-live': 'polite' });
  const choices = h('div', { class: 'choices', id: 'time-choices', role: 'group' });
  const wrap = h('div', { class: 'understood-box', hidden: true }, h('h2', { text: t('understood') }), dl, choices);
  // The words are the server's (`when_text`, `repeat_text`, each reading's `options_text`):
  // the page formats no time. The parser's due time is its reminder, so it is said once.
  wrap.show = (parsed, choice, onChoose) => {
    wrap.hidden = false;
    const final = settle(parsed, choice) || { ...parsed, when_text: null };
    const row = (key, value) => [h('dt', { text: t(key) }), h('dd', { text: value || t('u_none') })];
    dl.replaceChildren(
      ...row('u_title', final.title),
      ...row('u_remind', final.when_text),
      ...row('u_repeat', final.repeat_text));
    const clarify = parsed.clarify;
    choices.replaceChildren();
    if (!clarify) return;
    const key = `clarify_${String(clarify.reason).replace(/-/g, '_')}`;
    const question = has(key) ? t(key) : t('clarify_other');
    const pick = (value, label) => h('button', { type: 'button', class: 'secondary choice', text: label,
      'aria-pressed': String(choice !== undefined && choice === value), onclick: () => onChoose(value) });
    choices.setAttribute('aria-label', question);
    choices.append(h('p', { class: 'muted', text: question }),
      ...(clarify.options || []).map((at, i) => pick(at, (clarify.options_text || [])[i] || at)),
      pick(null, t('clarify_keep_words')));
  };
  wrap.note = (text) => {
    wrap.hidden = false;
    dl.replaceChildren(h('dd', { class: 'muted', text }));
    choices.replaceChildren();
  };
  return wrap;
}

/** The task a parse and the person's choice make: the parse as it is when it was clear; with
 * `clarify`, the chosen reading (an RFC 3339 time), or the words as typed (null); undefined
 * while nothing is chosen. */
function settle(parsed, choice) {
  if (!parsed.clarify) return parsed;
  if (choice === undefined) return undefined;
  if (choice === null) {
    return { title: parsed.text, remind_at: null, due: null, repeat: null, when_text: null, repeat_text: null };
  }
  // The server's reading, as saving stores it (a repeat has no due time: docs/capture.md),
  // with its words.
  const index = (parsed.clarify.options || []).indexOf(choice);
  const reading = (parsed.clarify.readings || [])[index];
  if (!reading) return undefined;
  return { ...parsed, remind_at: reading.remind_at, due: reading.due, repeat: reading.repeat,
    when_text: reading.when_text, repeat_text: reading.repeat_text };
}

function addForm(area, params, lists, ctx) {
  const zone = zoneOf(ctx.state.user);
  const text = h('input', { name: 'text', required: true, maxlength: '500', autocomplete: 'off',
    enterkeyhint: 'done' });
  const notes = h('textarea', { name: 'notes', rows: '3', maxlength: '10000' });
  const list = listSelect(lists, params.list);
  const understood = understoodBox();
  const box = messageBox();
  const form = h('form', { class: 'card', id: 'task-form' },
    field(t('task_text'), text, t('task_text_hint')), understood,
    field(t('notes'), notes), field(t('list'), list), box,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary page-primary', text: t('save') }),
      h('button', { type: 'button', class: 'secondary page-cancel', text: t('cancel'), onclick: ctx.back })));
  area.append(form);
  text.focus();

  // Each parse is tied to the text it read; saving waits for the parse of the current text.
  // A choice between readings belongs to that parse too: new words, a new choice.
  let parse = { text: '', promise: Promise.resolve(null), controller: null, choice: undefined };
  const parseNow = () => {
    const value = text.value.trim();
    if (value === parse.text) return parse.promise;
    if (parse.controller) parse.controller.abort();
    const controller = new AbortController();
    const promise = value
      ? askParser(value, zone, controller.signal).then((parsed) => parsed && { ...parsed, text: value })
      : Promise.resolve(null);
    parse = { text: value, promise, controller, choice: undefined };
    return promise;
  };
  const showParsed = (parsed) => understood.show(parsed, parse.choice, (choice) => {
    parse.choice = choice;
    box.show('');
    showParsed(parsed);
  });
  const preview = debounce(async () => {
    const value = text.value.trim();
    if (!value) {
      understood.hidden = true;
      return;
    }
    if (!parserMissing) understood.note(t('parsing'));
    try {
      const parsed = await parseNow();
      if (!ctx.current() || value !== text.value.trim()) return;
      if (parsed) showParsed(parsed);
      else understood.note(t('parse_unavailable'));
    } catch (err) {
      if (err.name !== 'AbortError' && ctx.current()) understood.note(t('parse_failed'));
    }
  }, 350);
  text.addEventListener('input', preview);
  // Opened from an example (the first-run hint): the words are there, read at once.
  if (params.text) {
    text.value = String(params.text).slice(0, 500);
    preview();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) {
      box.show(t('err_field', { field: t('f_title'), message: t('v_missing') }));
      text.focus();
      return;
    }
    busy(form, async () => {
      // A parser that failed must not stop the save: the words become the title.
      const parsed = (await parseNow().catch(() => null)) || { title: value };
      const final = settle(parsed, parse.choice);
      if (!final) {
        showParsed(parsed);
        box.show(t('clarify_first'));
        return;
      }
      const body = { title: final.title || value, list: list.value };
      for (const key of ['remind_at', 'due', 'repeat']) if (final[key]) body[key] = final[key];
      if (notes.value.trim()) body.notes = notes.value;
      await api('POST', '/api/tasks', body);
      ctx.back();
    }).catch((err) => box.show(explain(err)));
  });
  ctx.formPrimary(t('save'), () => form.requestSubmit());
}

/** The repeat select: the usual ones, and the task's own rule in the server's words. */
function repeatSelect(current, words) {
  const select = h('select', { name: 'repeat' }, REPEATS.map((rule) => h('option', { value: rule, text: repeatLabel(rule) })));
  setRepeat(select, current, words);
  return select;
}

/** Put `rule` into the repeat select, adding it as an option (named by `words`, the server's
 * `repeat_text`) when it is not one of the usual. */
function setRepeat(select, rule, words) {
  const value = rule || '';
  if (![...select.options].some((o) => o.value === value)) {
    select.append(h('option', { value, text: t('repeat_custom', { text: words || t('rep_unknown') }) }));
  }
  select.value = value;
}

/** The editor's natural-language field: "tomorrow at 10" read by the server as one types and,
 * once clear (or a reading chosen), written into the reminder, due and repeat fields below,
 * where the person sees it before saving. The title is left as it is. */
function wordsField(zone, apply) {
  const input = h('input', { name: 'when', autocomplete: 'off', maxlength: '500', enterkeyhint: 'done' });
  const understood = understoodBox();
  const note = h('p', { class: 'message ok', role: 'status' });
  let controller = null;
  let current = '';
  const use = (final) => {
    if (!final || (!final.remind_at && !final.repeat)) return;
    apply(final);
    note.textContent = t('applied');
  };
  const read = debounce(async () => {
    const value = input.value.trim();
    note.textContent = '';
    if (controller) controller.abort();
    if (!value) {
      understood.hidden = true;
      return;
    }
    current = value;
    controller = new AbortController();
    understood.note(t('parsing'));
    try {
      const parsed = await askParser(value, zone, controller.signal);
      if (value !== current) return;
      if (!parsed) return understood.note(t('parse_unavailable'));
      const show = (choice) => understood.show(parsed, choice, (picked) => {
        show(picked);
        use(settle(parsed, picked));
      });
      show(undefined);
      use(settle(parsed, undefined));
    } catch (err) {
      if (err.name !== 'AbortError') understood.note(t('parse_failed'));
    }
  }, 350);
  input.addEventListener('input', read);
  // Enter here reads the words; it must not submit the whole form.
  input.addEventListener('keydown', (event) => { if (event.key === 'Enter') event.preventDefault(); });
  return h('div', { class: 'words' }, field(t('change_words'), input, t('change_words_hint')), understood, note);
}

const sameInstant = (a, b) => Boolean(a && b) && new Date(a).getTime() === new Date(b).getTime();

/** The zone as a hint a person reads: "London (GMT+1)", "Москва, стандартное время (GMT+3)". */
const zoneName = (zone) => {
  const label = zoneLabel(zone);
  return `${label.name} (${label.offset || zone})`;
};

/** A write of the task as the editor showed it (`If-Match`: its version). When someone else
 * changed the task since, the server's 409 brings the task as it is now: `conflict` shows it
 * with "mine over it" (the same write, based on that version: the fields this person changed
 * win, the others stay as they are now) and "keep theirs" (the editor again, on the task as
 * it is now). Anything else is said in `box`. */
function conditionalWrite(task, ctx, box, conflict, write, { deleting = false } = {}) {
  const attempt = (shown) => write(ifMatch(shown)).then(() => ctx.back()).catch((err) => {
    const current = currentOf(err);
    if (!current) throw err;
    if (!ctx.current()) return;
    conflict.replaceChildren(conflictPanel(current, ctx, {
      deleting,
      apply: () => busy(conflict, () => attempt(current)).catch((e) => box.show(explain(e))),
      keep: () => ctx.rerender(),
    }));
    conflict.querySelector('#conflict-apply').focus();
  });
  return attempt(task);
}

/** "Stop repeating" on a repeating task: the repeat cleared (PATCH repeat null), its time kept;
 * Done on it completes one occurrence only (docs/capture.md). Nothing when it does not repeat. */
function stopRepeating(task, ctx, box, conflict) {
  if (!task.repeat) return null;
  const button = h('button', { type: 'button', class: 'link', id: 'stop-repeating', text: t('stop_repeating') });
  button.addEventListener('click', () => busy(button, () => conditionalWrite(task, ctx, box, conflict,
    (headers) => api('PATCH', `/api/tasks/${encodeURIComponent(task.id)}`, { repeat: null }, { headers })))
    .catch((err) => box.show(explain(err))));
  return button;
}

function editForm(area, task, lists, ctx) {
  const zone = zoneOf(ctx.state.user);
  const title = h('input', { name: 'title', value: task.title, required: true, maxlength: '500' });
  const notes = h('textarea', { name: 'notes', rows: '4', maxlength: '10000' });
  notes.value = task.notes || '';
  const list = listSelect(lists, task.list_id);
  const remind = h('input', { name: 'remind_at', type: 'datetime-local', value: toInputValue(task.remind_at, zone) });
  const due = h('input', { name: 'due', type: 'datetime-local', value: toInputValue(task.due, zone) });
  const repeat = repeatSelect(task.repeat, task.repeat_text);
  const done = h('input', { name: 'done', type: 'checkbox', checked: Boolean(task.done) });
  const box = messageBox();
  const conflict = h('div', { id: 'conflict-slot' }); // "someone else changed it" (conflict.js)
  // A due time equal to the reminder (what the words give) is one time: the Due field stays
  // folded and follows the reminder, until the person asks for a separate one.
  let dueFollows = !task.due || sameInstant(task.due, task.remind_at);
  const dueField = field(t('due'), due);
  const unfold = h('button', { type: 'button', class: 'link', id: 'separate-due', text: t('separate_due'),
    onclick: () => { dueFollows = false; dueField.hidden = false; unfold.hidden = true; due.focus(); } });
  dueField.hidden = dueFollows;
  unfold.hidden = !dueFollows;
  const words = wordsField(zone, (final) => {
    remind.value = toInputValue(final.remind_at, zone);
    due.value = toInputValue(final.due || final.remind_at, zone);
    setRepeat(repeat, final.repeat, final.repeat_text);
  });
  const form = h('form', { class: 'card', id: 'task-form' },
    field(t('title'), title), words, field(t('remind_at'), remind, zoneName(zone)), dueField, unfold,
    field(t('repeat'), repeat), stopRepeating(task, ctx, box, conflict), field(t('list'), list), field(t('notes'), notes),
    h('label', { class: 'check' }, done, ` ${t('task_done_label')}`),
    box, conflict,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary page-primary', text: t('save') }),
      h('button', { type: 'button', class: 'secondary page-cancel', text: t('cancel'), onclick: ctx.back }),
      h('button', { type: 'button', class: 'danger', id: 'delete-task', text: t('delete'), onclick: confirmDelete })));
  area.append(form);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Send only what changed; null clears a field.
    const now = {
      title: title.value.trim(), notes: notes.value, list: list.value, done: done.checked,
      remind_at: fromInputValue(remind.value, zone),
      // A due that follows the reminder is none on a repeating task, as the bot saves it.
      due: fromInputValue(dueFollows ? (repeat.value ? '' : remind.value) : due.value, zone),
      repeat: repeat.value || null,
    };
    const before = {
      title: task.title, notes: task.notes || '', list: task.list_id, done: Boolean(task.done),
      remind_at: fromInputValue(toInputValue(task.remind_at, zone), zone),
      due: fromInputValue(toInputValue(task.due, zone), zone), repeat: task.repeat || null,
    };
    const changes = Object.fromEntries(Object.entries(now).filter(([k, v]) => v !== before[k]));
    if (!Object.keys(changes).length) return ctx.back();
    box.show('');
    busy(form, () => conditionalWrite(task, ctx, box, conflict,
      (headers) => api('PATCH', `/api/tasks/${encodeURIComponent(task.id)}`, changes, { headers })))
      .catch((err) => box.show(explain(err)));
  });
  ctx.formPrimary(t('save'), () => form.requestSubmit());

  function confirmDelete() {
    const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-delete', text: t('delete') });
    const panel = h('div', { class: 'confirm', role: 'alertdialog', 'aria-label': t('delete') },
      h('p', { text: t('delete_task_confirm', { title: task.title }) }), yes,
      h('button', { type: 'button', class: 'secondary', text: t('cancel'), onclick: () => panel.remove() }));
    yes.addEventListener('click', () => busy(panel, async () => {
      panel.remove();
      await conditionalWrite(task, ctx, box, conflict,
        (headers) => api('DELETE', `/api/tasks/${encodeURIComponent(task.id)}`, undefined, { headers }), { deleting: true });
    }).catch((err) => box.show(explain(err))));
    form.append(panel);
    yes.focus();
  }
}

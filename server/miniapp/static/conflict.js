// Concurrent edits of a task (docs/sharing.md, "Concurrent edits"): every write of a task the
// page shows carries `If-Match` with the version it showed; when someone changed the task
// since, the server refuses with a 409 carrying the task as it is now (`current`). This module
// says so in the page's language, shows that current task, and lets the person apply their
// change over it or keep the other one. Which write wins is the server's rule.
import { h } from './dom.js';
import { getLang, t } from './i18n.js';
import { listName } from './views.js';

// This module's texts (kept here, not in i18n.js, as sharing.js does).
const STRINGS = {
  en: {
    title: 'Someone else changed this task',
    text: 'While you had it open, someone changed this task. This is it now:',
    apply: 'Save mine over it', keep: 'Keep theirs',
    delete: 'Delete anyway', keep_task: 'Keep the task',
    open: 'not completed', row: 'Someone else changed this task; it now shows as it is. Do it again if you still want to.',
  },
  ru: {
    title: 'Задачу изменил кто-то другой',
    text: 'Пока задача была у вас открыта, её изменили. Сейчас она такая:',
    apply: 'Сохранить моё поверх', keep: 'Оставить их вариант',
    delete: 'Всё равно удалить', keep_task: 'Оставить задачу',
    open: 'не выполнена', row: 'Задачу изменил кто-то другой; теперь она показана как есть. Повторите, если всё ещё нужно.',
  },
};

export function c(key) {
  return (STRINGS[getLang()] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
}

/** The condition for a write of `task` as the page showed it. */
export function ifMatch(task) {
  return Number.isInteger(task.version) ? { 'If-Match': `"${task.version}"` } : {};
}

/** The task as it is now, when `err` is the server's "changed since" refusal; else null. */
export function currentOf(err) {
  const current = err && err.status === 409 && err.problem && err.problem.current;
  return current && typeof current === 'object' ? current : null;
}

/** The refusal as a panel: what happened, the task as it is now, and two ways on: `apply`
 * (do the person's change over it; `deleting`: delete it anyway) or `keep` (drop theirs). */
export function conflictPanel(current, ctx, { apply, keep, deleting = false }) {
  const row = (label, value) => [h('dt', { text: label }), h('dd', { text: value || t('u_none') })];
  const applyButton = h('button', { type: 'button', class: deleting ? 'danger' : 'primary', id: 'conflict-apply',
    text: c(deleting ? 'delete' : 'apply'), onclick: apply });
  const panel = h('section', { class: 'card conflict', id: 'conflict', role: 'alert' },
    h('h2', { text: c('title') }),
    h('p', { text: c('text') }),
    h('dl', { class: 'understood', id: 'conflict-current' },
      ...row(t('u_title'), current.title),
      ...row(t('u_remind'), current.when_text),
      ...row(t('u_repeat'), current.repeat_text),
      ...row(t('list'), listName(ctx, current.list_id)),
      ...row(t('notes'), current.notes),
      ...row(t('task_done_label'), current.done ? '✓' : c('open'))),
    h('div', { class: 'actions' }, applyButton,
      h('button', { type: 'button', class: 'secondary', id: 'conflict-keep', text: c(deleting ? 'keep_task' : 'keep'),
        onclick: keep })));
  return panel;
}

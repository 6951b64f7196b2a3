// A tiny element builder. Text always goes in as text nodes (never innerHTML), so nothing a
// user typed can become markup; and nothing sets a style attribute, which the CSP forbids.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== 'string') el[key] = value; // value, checked, disabled
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A labelled form control; the label is tied to the control for screen readers and clicks. */
let nextId = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++nextId}`;
  control.id = id;
  const hintEl = hint ? h('small', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hintEl);
}

/** A polite live region for a form's message; `show(text, kind)` fills it. */
export function messageBox() {
  const box = h('p', { class: 'message', role: 'status', 'aria-live': 'polite' });
  box.show = (text, kind = 'error') => {
    box.textContent = text || '';
    box.className = `message ${text ? kind : ''}`;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  };
  return box;
}

/** Run `fn` `ms` after the last call; the previous pending call is dropped. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Disable a form's controls while `work` runs, so a double click cannot send twice. A call
 * while the form is busy does nothing: Telegram's MainButton submits the form without its
 * (disabled) button. */
export async function busy(form, work) {
  if (form.hasAttribute('aria-busy')) return undefined;
  const controls = [...form.querySelectorAll('button, input, select, textarea')];
  const before = controls.map((c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    controls.forEach((c, i) => { c.disabled = before[i]; });
    form.removeAttribute('aria-busy');
  }
}

// Texts in English and Russian, and the plural rules that go with them (Intl.PluralRules knows
// that Russian says 1 задача, 2 задачи, 5 задач). Entries that are objects are plural forms.

const STRINGS = {
  en: {
    today: 'Today', lists_button: 'Lists', app_tagline: 'Tasks and reminders, here and in Telegram',
    rep_unknown: 'repeats',
    completed: 'Completed: “{title}”', moved: 'Moved to {name}', undo: 'Undo', undone: 'Undone.',
    task_menu: 'More for “{title}”', move_to: 'Move to', edit: 'Edit', close: 'Close',
    onb_title: 'Your day starts here',
    onb_text: 'Type what to do and when, the way you would say it; a time sets a reminder. Try one:',
    onb_examples: 'Buy milk tomorrow at 9|Call mom at 7 pm|Stand-up every weekday at 10',
    onb_lists: 'Inbox, Later, Someday and your own lists: “Lists” at the top.',
    today_done: 'Nothing left for today.',
    err_reserved_name: '“{name}” is the name of a built-in list. Choose another name.',
    tz_search: 'Find a city or time zone', tz_current: 'Now: {zone}', tz_none: 'No time zone matches.',
    change_words: 'Change the time in words', change_words_hint: 'For example: tomorrow at 10, every Monday at 9',
    applied: 'The fields below now say this; Save keeps it.',
    new_list_button: '+ New list', due_short: 'due {time}', separate_due: '+ A separate due time',
    app_title: 'Assistant', lists: 'Lists', settings: 'Settings', account: 'Account',
    back: 'Back', loading: 'Loading…', retry: 'Try again', save: 'Save', cancel: 'Cancel',
    add: 'Add', delete: 'Delete', rename: 'Rename', done: 'Done', saved: 'Saved.',
    search_label: 'Search tasks', search_placeholder: 'Search tasks…', nothing_found: 'Nothing found.',
    new_list: 'New list', new_list_name: 'Name of the new list',
    new_task: 'New task', add_task: 'Add task',
    open_tasks: { one: '{n} open task', other: '{n} open tasks' },
    tasks: { one: '{n} task', other: '{n} tasks' },
    no_tasks: 'No open tasks here.', no_done: 'No completed tasks here.',
    show_done: 'Show completed', show_open: 'Show open', load_more: 'Load more',
    delete_list_confirm: 'Delete the list “{name}”? Its tasks move to Inbox.',
    rename_list: 'New name for “{name}”', in_list: 'in {name}',
    mark_done: 'Mark “{title}” done', mark_open: 'Mark “{title}” not done',
    task_text: 'What and when', task_text_hint: 'For example: Call mom tomorrow at 9',
    understood: 'Understood', parsing: 'Reading…', parse_failed: 'Could not read the time; the text is saved as the title.',
    parse_unavailable: 'Times are not read from the text here; it is saved as the title.',
    clarify_ambiguous_time: 'Which time?', clarify_ambiguous_day: 'Which day?', clarify_ambiguous_date: 'Which date?',
    clarify_in_the_past: 'That time has passed.', clarify_conflict: 'The times in the text disagree.',
    clarify_other: 'The time is unclear.',
    clarify_keep_words: 'No reminder: keep the words', clarify_first: 'Choose when to be reminded (above), or keep the words.',
    u_title: 'Task', u_remind: 'Reminder', u_due: 'Due', u_repeat: 'Repeats', u_none: '—',
    title: 'Title', notes: 'Notes', list: 'List', remind_at: 'Remind at', due: 'Due',
    repeat: 'Repeat', repeat_none: 'Never', repeat_custom: 'As set: {text}',
    stop_repeating: 'Stop repeating',
    rep1_DAILY: 'every day', rep1_WEEKLY: 'every week', rep1_MONTHLY: 'every month', rep1_YEARLY: 'every year',
    delete_task_confirm: 'Delete “{title}”?', task_done_label: 'Completed',
    sign_in: 'Sign in', register: 'Create account', username: 'Username', password: 'Password',
    to_register: 'New here? Create an account', to_sign_in: 'Already have an account? Sign in',
    tg_login: 'Log in with Telegram', or: 'or', sign_out: 'Sign out',
    language: 'Language', timezone: 'Time zone', use_device_tz: 'Use this device’s ({tz})',
    signed_in_as: 'Signed in as {name}',
    tg_login_unasked: 'A Telegram sign-in this page did not start was ignored. To sign in with Telegram, use the button below.',
    sessions: 'Sessions', no_sessions: 'No browser is signed in to this account.', this_device: 'this device', unknown_device: 'Unknown device',
    session_meta: 'Signed in {created} · last used {used}', end_session: 'End',
    end_others: 'Log out elsewhere', logout_all: 'Log out everywhere',
    others_ended: 'Other sessions were ended.',
    password_section: 'Password', current_password: 'Current password', new_password: 'New password',
    set_password: 'Set password', change_password: 'Change password',
    password_changed: 'Password saved. Other sessions were signed out.',
    no_username_hint: 'Choose a username too, to sign in with it in a browser.',
    telegram_section: 'Telegram', linked: 'Linked to Telegram{name}.', link_telegram: 'Link Telegram',
    unlink_telegram: 'Unlink Telegram', unlink_hint: 'This account keeps all its lists and tasks; the Telegram account starts afresh.',
    link_hint: 'Open this link in Telegram within {time}:', open_link: 'Open in Telegram',
    delete_account: 'Delete account',
    delete_account_hint: 'This erases your account with all its lists and tasks. It cannot be undone.',
    confirm_with_password: 'Your password, to confirm', confirm_delete: 'Yes, delete my account',
    confirm_delete_check: 'I understand that everything will be erased',
    account_deleted: 'Your account was deleted.',
    tg_invalid_title: 'Open this from Telegram again',
    tg_invalid_text: 'Telegram’s sign-in data for this page is missing, expired or not genuine, so nothing is shown. Close this window and open the app again from the bot’s menu button.',
    offline_title: 'No connection',
    offline_text: 'The service cannot be reached. Check your connection and try again.',
    unavailable_title: 'Temporarily unavailable',
    unavailable_text: 'The service is busy or being updated. Try again in a moment.',
    session_ended: 'Your session has ended. Please sign in again.',
    minutes_in: { one: '{n} minute', other: '{n} minutes' },
    minutes_within: { one: '{n} minute', other: '{n} minutes' },
    chars: { one: '{n} character', other: '{n} characters' },
    err_invalid_credentials: 'Incorrect username or password.',
    err_wrong_password: 'The password is incorrect.',
    err_stale_confirmation: 'For your safety this needs a fresh sign-in: close the app, open it again from the bot, and repeat.',
    err_username_taken: 'This username is taken. Choose another one.',
    err_list_name_taken: 'You already have a list with this name.',
    err_builtin_list: 'Built-in lists cannot be renamed or deleted.',
    err_concurrent: 'This was changed elsewhere at the same moment. Try again.',
    err_task_changed: 'Someone else changed this task in the meantime; it now shows as it is.',
    err_deactivated: 'This account is deactivated.',
    err_too_many: 'Too many attempts. Try again in {time}.',
    err_not_found: 'This no longer exists. It may have been deleted elsewhere.',
    err_forbidden: 'You are not allowed to do this.',
    err_not_configured: 'Telegram is not set up on this server.',
    err_server: 'Something went wrong on the server. Try again later.',
    err_body_too_large: 'This is too long to send.',
    err_other: 'The server refused: {detail}',
    err_field: '{field}: {message}',
    v_too_short: 'too short (at least {chars})', v_too_long: 'too long (at most {chars})',
    v_pattern: 'contains characters that are not allowed', v_common: 'too common; choose one that is harder to guess',
    v_missing: 'required', v_invalid: 'not valid',
    f_username: 'Username', f_password: 'Password', f_new_password: 'New password',
    f_current_password: 'Current password', f_title: 'Title', f_notes: 'Notes', f_name: 'Name',
    f_timezone: 'Time zone', f_language: 'Language', f_remind_at: 'Reminder', f_due: 'Due',
    f_repeat: 'Repeat', f_list: 'List', f_text: 'Text',
  },
  ru: {
    today: 'Сегодня', lists_button: 'Списки', app_tagline: 'Задачи и напоминания — здесь и в Telegram',
    rep_unknown: 'повторяется',
    completed: 'Выполнено: «{title}»', moved: 'Перенесено в «{name}»', undo: 'Отменить', undone: 'Отменено.',
    task_menu: 'Ещё для «{title}»', move_to: 'Перенести в', edit: 'Изменить', close: 'Закрыть',
    onb_title: 'Здесь начинается ваш день',
    onb_text: 'Напишите, что и когда сделать, как сказали бы вслух; время ставит напоминание. Попробуйте:',
    onb_examples: 'купить молоко завтра в 9|позвонить маме в 19:00|планёрка по будням в 10',
    onb_lists: 'Входящие, «Позже», «Когда-нибудь» и ваши списки — кнопка «Списки» вверху.',
    today_done: 'На сегодня всё сделано.',
    err_reserved_name: '«{name}» — так называется встроенный список. Выберите другое название.',
    tz_search: 'Найдите город или часовой пояс', tz_current: 'Сейчас: {zone}', tz_none: 'Такого пояса не нашлось.',
    change_words: 'Изменить время словами', change_words_hint: 'Например: завтра в 10, каждый понедельник в 9',
    applied: 'Поля ниже заполнены так; «Сохранить» сохранит.',
    new_list_button: '+ Новый список', due_short: 'срок {time}', separate_due: '+ Отдельный срок',
    app_title: 'Ассистент', lists: 'Списки', settings: 'Настройки', account: 'Аккаунт',
    back: 'Назад', loading: 'Загрузка…', retry: 'Повторить', save: 'Сохранить', cancel: 'Отмена',
    add: 'Добавить', delete: 'Удалить', rename: 'Переименовать', done: 'Готово', saved: 'Сохранено.',
    search_label: 'Поиск задач', search_placeholder: 'Поиск задач…', nothing_found: 'Ничего не найдено.',
    new_list: 'Новый список', new_list_name: 'Название нового списка',
    new_task: 'Новая задача', add_task: 'Добавить задачу',
    open_tasks: { one: '{n} открытая задача', few: '{n} открытые задачи', many: '{n} открытых задач', other: '{n} открытой задачи' },
    tasks: { one: '{n} задача', few: '{n} задачи', many: '{n} задач', other: '{n} задачи' },
    no_tasks: 'Открытых задач здесь нет.', no_done: 'Выполненных задач здесь нет.',
    show_done: 'Показать выполненные', show_open: 'Показать открытые', load_more: 'Показать ещё',
    delete_list_confirm: 'Удалить список «{name}»? Его задачи переместятся во «Входящие».',
    rename_list: 'Новое название для «{name}»', in_list: 'в списке «{name}»',
    mark_done: 'Отметить «{title}» выполненной', mark_open: 'Снять отметку с «{title}»',
    task_text: 'Что и когда', task_text_hint: 'Например: Позвонить маме завтра в 9',
    understood: 'Понял так', parsing: 'Разбираю…', parse_failed: 'Не удалось разобрать время; текст сохранится как название.',
    parse_unavailable: 'Здесь время из текста не распознаётся; текст сохранится как название.',
    clarify_ambiguous_time: 'В какое время?', clarify_ambiguous_day: 'В какой день?', clarify_ambiguous_date: 'Какого числа?',
    clarify_in_the_past: 'Это время уже прошло.', clarify_conflict: 'Времена в тексте противоречат друг другу.',
    clarify_other: 'Время указано неясно.',
    clarify_keep_words: 'Без напоминания: оставить слова', clarify_first: 'Выберите, когда напомнить (выше), или оставьте слова.',
    u_title: 'Задача', u_remind: 'Напоминание', u_due: 'Срок', u_repeat: 'Повтор', u_none: '—',
    title: 'Название', notes: 'Заметки', list: 'Список', remind_at: 'Напомнить', due: 'Срок',
    repeat: 'Повторять', repeat_none: 'Не повторять', repeat_custom: 'Как задано: {text}',
    stop_repeating: 'Больше не повторять',
    rep1_DAILY: 'каждый день', rep1_WEEKLY: 'каждую неделю', rep1_MONTHLY: 'каждый месяц', rep1_YEARLY: 'каждый год',
    delete_task_confirm: 'Удалить «{title}»?', task_done_label: 'Выполнена',
    sign_in: 'Войти', register: 'Создать аккаунт', username: 'Имя пользователя', password: 'Пароль',
    to_register: 'Впервые здесь? Создайте аккаунт', to_sign_in: 'Уже есть аккаунт? Войдите',
    tg_login: 'Войти через Telegram', or: 'или', sign_out: 'Выйти',
    language: 'Язык', timezone: 'Часовой пояс', use_device_tz: 'Как на этом устройстве ({tz})',
    signed_in_as: 'Вы вошли как {name}',
    tg_login_unasked: 'Вход через Telegram, начатый не на этой странице, пропущен. Чтобы войти через Telegram, нажмите кнопку ниже.',
    sessions: 'Сеансы', no_sessions: 'В этот аккаунт не вошёл ни один браузер.', this_device: 'это устройство', unknown_device: 'Неизвестное устройство',
    session_meta: 'Вход {created} · активность {used}', end_session: 'Завершить',
    end_others: 'Выйти на других устройствах', logout_all: 'Выйти везде',
    others_ended: 'Другие сеансы завершены.',
    password_section: 'Пароль', current_password: 'Текущий пароль', new_password: 'Новый пароль',
    set_password: 'Задать пароль', change_password: 'Сменить пароль',
    password_changed: 'Пароль сохранён. Другие сеансы завершены.',
    no_username_hint: 'Задайте и имя пользователя, чтобы входить с ним в браузере.',
    telegram_section: 'Telegram', linked: 'Привязан к Telegram{name}.', link_telegram: 'Привязать Telegram',
    unlink_telegram: 'Отвязать Telegram', unlink_hint: 'У этого аккаунта останутся все списки и задачи; аккаунт Telegram начнёт заново.',
    link_hint: 'Откройте эту ссылку в Telegram в течение {time}:', open_link: 'Открыть в Telegram',
    delete_account: 'Удалить аккаунт',
    delete_account_hint: 'Аккаунт со всеми списками и задачами будет стёрт без возможности восстановления.',
    confirm_with_password: 'Ваш пароль для подтверждения', confirm_delete: 'Да, удалить аккаунт',
    confirm_delete_check: 'Я понимаю, что всё будет стёрто',
    account_deleted: 'Ваш аккаунт удалён.',
    tg_invalid_title: 'Откройте приложение из Telegram ещё раз',
    tg_invalid_text: 'Данные входа от Telegram отсутствуют, устарели или не подлинные, поэтому ничего не показано. Закройте это окно и снова откройте приложение кнопкой меню бота.',
    offline_title: 'Нет соединения',
    offline_text: 'Не удаётся связаться с сервисом. Проверьте подключение и попробуйте ещё раз.',
    unavailable_title: 'Временно недоступно',
    unavailable_text: 'Сервис занят или обновляется. Попробуйте через минуту.',
    session_ended: 'Сеанс завершён. Войдите снова.',
    minutes_in: { one: '{n} минуту', few: '{n} минуты', many: '{n} минут', other: '{n} минуты' },
    minutes_within: { one: '{n} минуты', few: '{n} минут', many: '{n} минут', other: '{n} минуты' },
    chars: { one: '{n} символ', few: '{n} символа', many: '{n} символов', other: '{n} символа' },
    err_invalid_credentials: 'Неверное имя пользователя или пароль.',
    err_wrong_password: 'Неверный пароль.',
    err_stale_confirmation: 'Для безопасности нужен свежий вход: закройте приложение, откройте его снова из бота и повторите.',
    err_username_taken: 'Это имя пользователя занято. Выберите другое.',
    err_list_name_taken: 'Список с таким названием уже есть.',
    err_builtin_list: 'Встроенные списки нельзя переименовать или удалить.',
    err_concurrent: 'Это одновременно изменили в другом месте. Попробуйте ещё раз.',
    err_task_changed: 'Задачу тем временем изменил кто-то другой; теперь она показана как есть.',
    err_deactivated: 'Этот аккаунт отключён.',
    err_too_many: 'Слишком много попыток. Попробуйте через {time}.',
    err_not_found: 'Этого больше нет. Возможно, удалено на другом устройстве.',
    err_forbidden: 'Это действие вам недоступно.',
    err_not_configured: 'Telegram на этом сервере не настроен.',
    err_server: 'На сервере что-то пошло не так. Попробуйте позже.',
    err_body_too_large: 'Слишком длинно для отправки.',
    err_other: 'Сервер отказал: {detail}',
    err_field: '{field}: {message}',
    v_too_short: 'слишком коротко (минимум {chars})', v_too_long: 'слишком длинно (максимум {chars})',
    v_pattern: 'содержит недопустимые символы', v_common: 'слишком распространён, выберите менее очевидный',
    v_missing: 'обязательно', v_invalid: 'указано неверно',
    f_username: 'Имя пользователя', f_password: 'Пароль', f_new_password: 'Новый пароль',
    f_current_password: 'Текущий пароль', f_title: 'Название', f_notes: 'Заметки', f_name: 'Название',
    f_timezone: 'Часовой пояс', f_language: 'Язык', f_remind_at: 'Напоминание', f_due: 'Срок',
    f_repeat: 'Повтор', f_list: 'Список', f_text: 'Текст',
  },
};

let lang = 'en';

/** 'ru' for the first candidate given (user setting, Telegram, browser) that starts with ru. */
export function pickLang(...candidates) {
  const first = candidates.find((c) => typeof c === 'string' && c);
  return first && first.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function setLang(code) {
  lang = code === 'ru' ? 'ru' : 'en';
  document.documentElement.lang = lang;
  document.title = t('app_title');
}

export function getLang() {
  return lang;
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return fill(typeof text === 'string' ? text : text.other, vars);
}

export function has(key) {
  return key in STRINGS.en;
}

export function plural(key, n, vars = {}) {
  const forms = STRINGS[lang][key];
  const form = forms[new Intl.PluralRules(lang).select(n)] ?? forms.other;
  return fill(form, { ...vars, n });
}

/** A problem document (or a failed request) as a sentence a person can act on. */
export function explain(err, { passwordOnly = false } = {}) {
  const problem = err.problem || {};
  const slug = (problem.type || '').replace('urn:problem:', '');
  if (err.offline) return t('offline_text');
  if (err.status === 503 || err.status === 502 || err.status === 504) return t('unavailable_text');
  if (slug === 'validation-error' && Array.isArray(problem.errors) && problem.errors.length) {
    return problem.errors.map(fieldSentence).join(' ');
  }
  if (slug === 'invalid-credentials') return t(passwordOnly ? 'err_wrong_password' : 'err_invalid_credentials');
  if (slug === 'username-taken') return t('err_username_taken');
  if (slug === 'list-name-taken') return t('err_list_name_taken');
  if (slug === 'builtin-list') return t('err_builtin_list');
  if (slug === 'concurrent-change') return t('err_concurrent');
  if (slug === 'task-changed') return t('err_task_changed');
  if (slug === 'account-deactivated') return t('err_deactivated');
  if (err.status === 429) {
    const minutes = Math.max(1, Math.ceil((err.retryAfter || 60) / 60));
    return t('err_too_many', { time: plural('minutes_in', minutes) });
  }
  if (slug === 'not-configured') return t('err_not_configured');
  if (err.status === 401) return t('session_ended');
  if (err.status === 403) return t('err_forbidden');
  if (err.status === 404) return t('err_not_found');
  if (err.status === 413) return t('err_body_too_large');
  if (err.status >= 500) return t('err_server');
  // The service's own details are written as sentences (in English): better than nothing.
  return t('err_other', { detail: problem.detail || problem.title || err.status });
}

function fieldSentence(error) {
  // A password confirmation that was wrong (changing the password, deleting the account).
  if (error.type === 'wrong_password') return t('err_wrong_password');
  // Deleting the account or setting a first password with init data that is not fresh.
  if (error.field === 'init_data') return t('err_stale_confirmation');
  const name = String(error.field || '').split('.').pop();
  const label = STRINGS[lang][`f_${name}`] ? t(`f_${name}`) : name;
  const number = Number((String(error.message).match(/\d+/) || [])[0]);
  const messages = {
    // "At least 1 character" means the field was left empty: say so.
    string_too_short: () => (number <= 1 ? t('v_missing') : t('v_too_short', { chars: plural('chars', number) })),
    string_too_long: () => t('v_too_long', { chars: plural('chars', number) }),
    string_pattern_mismatch: () => t('v_pattern'),
    password_too_common: () => t('v_common'),
    missing: () => t('v_missing'),
  };
  const known = messages[error.type];
  // Unknown kinds keep the server's wording in English, or a neutral phrase in Russian.
  const message = known ? known() : lang === 'en' ? error.message : t('v_invalid');
  return t('err_field', { field: label, message }) + (/[.!?]$/.test(message) ? '' : '.');
}

// Running inside Telegram. Telegram opens the page with launch parameters in the URL fragment
// (#tgWebAppData=…&tgWebAppThemeParams=…), and its own script, when a page loads it, exposes
// them as window.Telegram.WebApp. This app loads no script from another origin, so it works
// with either: the WebApp object when one is present, else the fragment and the documented
// event bridge (TelegramWebviewProxy.postEvent on mobile and desktop, window.external.notify
// on Windows Phone, postMessage to the parent frame on web.telegram.org).

const WEB_ORIGIN = 'https://web.telegram.org';
const STORE_KEY = 'assistant.tg-launch';

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Whether a Telegram client hosts this page: its mobile and desktop apps inject their event
 * proxy, Windows Phone's has window.external.notify, and web.telegram.org frames the page (the
 * page's CSP lets no one else frame it). A plain browser tab is none of these. */
function insideTelegramClient() {
  return Boolean(window.TelegramWebviewProxy)
    || Boolean(window.external && 'notify' in window.external)
    || window.parent !== window;
}

/** Launch parameters from the fragment; kept for this tab so a reload inside Telegram works.
 * In a plain browser tab they are dropped, unused: a link with someone's init data must not
 * sign a fresh browser in to their account without a word (login CSRF). */
function launchParams() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('tgWebAppData') && !insideTelegramClient()) {
    history.replaceState(history.state, '', location.pathname + location.search);
    sessionStorage.removeItem(STORE_KEY);
    return null;
  }
  if (fragment.get('tgWebAppData')) {
    const params = {
      initData: fragment.get('tgWebAppData'),
      theme: parseJson(fragment.get('tgWebAppThemeParams') || '{}') || {},
      platform: fragment.get('tgWebAppPlatform') || 'unknown',
    };
    sessionStorage.setItem(STORE_KEY, JSON.stringify(params));
    // The init data is a credential: keep it out of the address bar, history and shared links.
    history.replaceState(history.state, '', location.pathname + location.search);
    return params;
  }
  return parseJson(sessionStorage.getItem(STORE_KEY) || 'null');
}

function userLanguage(initData) {
  const user = parseJson(new URLSearchParams(initData).get('user') || 'null');
  return user && user.language_code;
}

/** The WebApp object of Telegram's script (or of a test standing in for it). */
function fromWebApp(webApp) {
  let mainHandler = null;
  let backHandler = null;
  return {
    initData: webApp.initData,
    theme: webApp.themeParams || {},
    colorScheme: webApp.colorScheme,
    language: webApp.initDataUnsafe && webApp.initDataUnsafe.user && webApp.initDataUnsafe.user.language_code,
    ready: () => webApp.ready(),
    expand: () => webApp.expand(),
    mainButton(text, onClick) {
      const button = webApp.MainButton;
      if (mainHandler) button.offClick(mainHandler);
      mainHandler = text ? onClick : null;
      if (!text) return button.hide();
      button.setText(text);
      button.onClick(mainHandler);
      button.show();
    },
    backButton(onClick) {
      const button = webApp.BackButton;
      if (backHandler) button.offClick(backHandler);
      backHandler = onClick;
      if (!onClick) return button.hide();
      button.onClick(onClick);
      button.show();
    },
    onThemeChange(callback) {
      webApp.onEvent('themeChanged', () => callback(webApp.themeParams || {}, webApp.colorScheme));
    },
  };
}

/** The bare bridge, when only the launch parameters are there. */
function fromBridge(params) {
  const listeners = {};
  const receive = (type, data) => (listeners[type] || []).forEach((fn) => fn(data || {}));
  // Telegram's clients deliver events by calling these globals, or by posting a message.
  window.Telegram = window.Telegram || {};
  window.Telegram.WebView = { ...(window.Telegram.WebView || {}), receiveEvent: receive };
  window.TelegramGameProxy = { receiveEvent: receive };
  addEventListener('message', (event) => {
    if (event.origin !== WEB_ORIGIN || typeof event.data !== 'string') return;
    const message = parseJson(event.data);
    if (message && message.eventType) receive(message.eventType, message.eventData);
  });

  function post(eventType, eventData = {}) {
    const proxy = window.TelegramWebviewProxy;
    if (proxy && typeof proxy.postEvent === 'function') {
      proxy.postEvent(eventType, JSON.stringify(eventData));
    } else if (window.external && typeof window.external.notify === 'function') {
      window.external.notify(JSON.stringify({ eventType, eventData }));
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType, eventData }), WEB_ORIGIN);
    }
  }
  const only = (type, fn) => { listeners[type] = fn ? [fn] : []; };
  const theme = params.theme || {};

  return {
    initData: params.initData,
    theme,
    colorScheme: null,
    language: userLanguage(params.initData),
    ready: () => post('web_app_ready'),
    expand: () => post('web_app_expand'),
    mainButton(text, onClick) {
      only('main_button_pressed', text ? onClick : null);
      post('web_app_setup_main_button', text
        ? { is_visible: true, is_active: true, is_progress_visible: false, text,
          color: theme.button_color || '#2481cc', text_color: theme.button_text_color || '#ffffff' }
        : { is_visible: false });
    },
    backButton(onClick) {
      only('back_button_pressed', onClick);
      post('web_app_setup_back_button', { is_visible: Boolean(onClick) });
    },
    onThemeChange(callback) {
      only('theme_changed', (data) => callback(data.theme_params || {}, null));
    },
  };
}

/** The Telegram side of this launch, or null in an ordinary browser. */
export function telegramLaunch() {
  const webApp = window.Telegram && window.Telegram.WebApp;
  if (webApp && webApp.initData) return fromWebApp(webApp);
  const params = launchParams();
  return params && params.initData ? fromBridge(params) : null;
}

function luminance(hex) {
  const match = /^#?([0-9a-f]{6})$/i.exec(hex || '');
  if (!match) return null;
  const n = parseInt(match[1], 16);
  const channel = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(n >> 16) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

const THEME_VARS = {
  bg_color: '--bg', text_color: '--text', hint_color: '--hint', link_color: '--link',
  button_color: '--button', button_text_color: '--button-text',
  secondary_bg_color: '--secondary-bg', section_bg_color: '--section-bg',
  destructive_text_color: '--destructive', accent_text_color: '--accent',
};

/** Follow Telegram's colours: its palette becomes the page's CSS variables. */
export function applyTheme(theme, colorScheme) {
  const root = document.documentElement;
  for (const [key, variable] of Object.entries(THEME_VARS)) {
    if (/^#[0-9a-f]{3,8}$/i.test(theme[key] || '')) root.style.setProperty(variable, theme[key]);
    else root.style.removeProperty(variable);
  }
  const light = luminance(theme.bg_color);
  const scheme = colorScheme || (light === null ? null : light < 0.4 ? 'dark' : 'light');
  if (scheme) root.dataset.theme = scheme;
}

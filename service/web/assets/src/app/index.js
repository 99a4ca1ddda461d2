// app.js: progressive enhancement for every server-rendered page. No framework, no inline handlers:
// everything hangs off data attributes (see ../../README.md, "app.js").
//   <button data-confirm="本当に取り下げますか？">            confirm before the click / submit goes ahead
//   <form data-confirm="...">                               same, for the whole form
//   <select data-autosubmit> / <input data-autosubmit>      submit the form on change
//   <time datetime="2026-04-01T09:00:00+09:00" data-relative>  "3 日前" / "in 2 hours", full date as tooltip
//   <select data-lang-switch>, <button data-lang-switch="en">  switch the UI language (cookie + reload/submit)
//   [data-js-hidden]                                        hidden when JavaScript runs (e.g. a "Go" button)

const LANG_COOKIE = 'lang';

function pageLang(node) {
  const owner = node && node.closest ? node.closest('[lang]') : null;
  const lang = ((owner && owner.getAttribute('lang')) || document.documentElement.lang || 'ja').slice(0, 2);
  return lang === 'en' ? 'en' : 'ja';
}

// --- confirm -----------------------------------------------------------------------------------
function onClickConfirm(event) {
  const trigger = event.target.closest && event.target.closest('[data-confirm]');
  if (!trigger || trigger.tagName === 'FORM') return;
  if (!window.confirm(trigger.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  } else if (trigger.form && trigger.form.matches('[data-confirm]')) {
    trigger.form.dataset.confirmed = 'true'; // don't ask again for the form itself
  }
}

function onSubmitConfirm(event) {
  const form = event.target;
  if (!form.matches || !form.matches('form[data-confirm]')) return;
  if (form.dataset.confirmed === 'true') {
    delete form.dataset.confirmed;
    return;
  }
  if (!window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}

// --- auto-submit -------------------------------------------------------------------------------
function onChangeAutosubmit(event) {
  const field = event.target;
  if (!field.matches || !field.matches('[data-autosubmit]') || !field.form) return;
  if (field.form.requestSubmit) field.form.requestSubmit();
  else field.form.submit();
}

// --- relative time -----------------------------------------------------------------------------
const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** "3 日前", "2 時間後", "昨日", "in 5 minutes" for a date relative to `now`. */
export function relativeTime(date, lang, now = new Date()) {
  const seconds = (date.getTime() - now.getTime()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  if (Math.abs(seconds) < 45) return rtf.format(0, 'second');
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      return rtf.format(Math.round(seconds / size), unit);
    }
  }
  return '';
}

export function refreshRelativeTimes(root = document) {
  for (const node of root.querySelectorAll('time[data-relative]')) {
    const date = new Date(node.getAttribute('datetime'));
    if (Number.isNaN(date.getTime())) continue;
    const lang = pageLang(node);
    if (!node.title) {
      node.title = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
    }
    node.textContent = relativeTime(date, lang);
  }
}

// --- language switcher -------------------------------------------------------------------------
/** Remembers the language in a cookie (read by the server's locale selector) and reloads or submits. */
export function setLanguage(lang, { form = null, cookie = LANG_COOKIE } = {}) {
  const value = encodeURIComponent(String(lang).slice(0, 8));
  const secure = window.location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${cookie}=${value}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
  if (form) {
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  } else {
    window.location.reload();
  }
}

function langSwitch(event) {
  const node = event.target.closest && event.target.closest('[data-lang-switch]');
  if (!node) return;
  const isSelect = node.tagName === 'SELECT';
  if ((event.type === 'change') !== isSelect) return;
  const lang = isSelect ? node.value : node.dataset.langSwitch || node.value;
  if (!lang) return;
  event.preventDefault();
  setLanguage(lang, { form: node.form || null, cookie: node.dataset.langCookie || LANG_COOKIE });
}

// --- start -------------------------------------------------------------------------------------
function start() {
  document.documentElement.classList.add('js');
  for (const node of document.querySelectorAll('[data-js-hidden]')) node.hidden = true;
  refreshRelativeTimes();
  window.setInterval(refreshRelativeTimes, 60 * 1000);
}

// Capture phase, so a cancelled confirm stops other handlers too.
document.addEventListener('click', onClickConfirm, true);
document.addEventListener('submit', onSubmitConfirm, true);
document.addEventListener('change', onChangeAutosubmit);
document.addEventListener('change', langSwitch);
document.addEventListener('click', langSwitch);

window.tejun = Object.assign(window.tejun || {}, { refreshRelativeTimes, relativeTime, setLanguage });

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

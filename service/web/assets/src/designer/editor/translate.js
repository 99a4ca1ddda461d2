// Japanese for bpmn-js, dmn-js and the properties panel through their i18n mechanism: a `translate` service
// that replaces the default one (https://github.com/bpmn-io/bpmn-js-examples/tree/main/i18n). Texts not in the
// dictionary stay as the library writes them; {placeholders} are filled in either way.
import JA from './translate-ja.js';

export function translator(dictionary) {
  return function translate(template, replacements) {
    const text = (dictionary && dictionary[template]) || template;
    return text.replace(/{([^}]+)}/g, (whole, key) => (replacements && key in replacements ? replacements[key] : whole));
  };
}

// The module for `additionalModules` (bpmn-js, the properties panel, each dmn-js view): Japanese, or the
// library's English when the page is in English.
export function translateModule(lang) {
  return { translate: ['value', translator(lang === 'ja' ? JA : null)] };
}

export function pageLang() {
  return (document.documentElement.lang || 'ja').slice(0, 2) === 'en' ? 'en' : 'ja';
}

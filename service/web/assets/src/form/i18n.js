// Texts of the form bundle in Japanese (default) and English, RJSF's own strings included.
import { englishStringTranslator, replaceStringParameters, TranslatableString as TS } from '@rjsf/utils';

export const LANGS = ['ja', 'en'];

export function pickLang(value) {
  const lang = String(value || '').toLowerCase().slice(0, 2);
  return LANGS.includes(lang) ? lang : 'ja';
}

const UI = {
  ja: {
    submit: '提出する',
    submitting: '送信中…',
    saveDraft: '下書きを保存',
    savingDraft: '保存中…',
    draftSaved: (time) => `下書きを保存しました（${time}）`,
    draftFailed: '下書きを保存できませんでした。',
    invalid: '入力内容に誤りがあります。各項目のメッセージを確認してください。',
    conflict: 'この作業は、他の担当者によってすでに完了または引き受けられています。',
    failed: (status) => `送信できませんでした（${status}）。入力内容はそのまま残っています。`,
    network: 'サーバーに接続できませんでした。通信環境を確認して、もう一度お試しください。入力内容はそのまま残っています。',
    sent: '送信しました。',
    backToList: '一覧に戻る',
    dismiss: '閉じる',
    upload: 'ファイルを追加',
    uploading: 'アップロード中…',
    uploadFailed: 'ファイルをアップロードできませんでした。',
    tooLarge: (max) => `ファイルが大きすぎます（上限 ${max}）。`,
    removeFile: (name) => `${name} を削除`,
    noFiles: '添付ファイルはありません。',
    item: (n) => `項目 ${n}`,
    loadError: 'フォームを表示できませんでした。管理者に連絡してください。',
  },
  en: {
    submit: 'Submit',
    submitting: 'Submitting…',
    saveDraft: 'Save draft',
    savingDraft: 'Saving…',
    draftSaved: (time) => `Draft saved at ${time}`,
    draftFailed: 'The draft could not be saved.',
    invalid: 'Some answers need your attention. Please check the messages next to the fields.',
    conflict: 'This task has already been completed or claimed by someone else.',
    failed: (status) => `The form could not be submitted (${status}). Your answers have been kept.`,
    network: 'The server could not be reached. Please check your connection and try again. Your answers have been kept.',
    sent: 'Submitted.',
    backToList: 'Back to the list',
    dismiss: 'Dismiss',
    upload: 'Add file',
    uploading: 'Uploading…',
    uploadFailed: 'The file could not be uploaded.',
    tooLarge: (max) => `The file is too large (limit ${max}).`,
    removeFile: (name) => `Remove ${name}`,
    noFiles: 'No files attached.',
    item: (n) => `Item ${n}`,
    loadError: 'The form could not be displayed. Please contact the administrator.',
  },
};

export function uiText(lang) {
  const table = UI[pickLang(lang)];
  return (key, ...args) => {
    const entry = table[key] ?? UI.en[key] ?? key;
    return typeof entry === 'function' ? entry(...args) : entry;
  };
}

const RJSF_JA = {
  [TS.ArrayItemTitle]: '項目',
  [TS.MissingItems]: '配列の項目定義がありません',
  [TS.EmptyArray]: 'まだ項目がありません。下のボタンで追加してください。',
  [TS.YesLabel]: 'はい',
  [TS.NoLabel]: 'いいえ',
  [TS.CloseLabel]: '閉じる',
  [TS.ErrorsLabel]: '入力内容を確認してください',
  [TS.NewStringDefault]: '新しい値',
  [TS.AddButton]: '追加',
  [TS.AddItemButton]: '行を追加',
  [TS.CopyButton]: '複製',
  [TS.ExpandButton]: '展開',
  [TS.MoveDownButton]: '下へ',
  [TS.MoveUpButton]: '上へ',
  [TS.RemoveButton]: '削除',
  [TS.NowLabel]: '現在',
  [TS.ClearLabel]: 'クリア',
  [TS.AriaDateLabel]: '日付を選択',
  [TS.PreviewLabel]: 'プレビュー',
  [TS.DecrementAriaLabel]: '1 減らす',
  [TS.IncrementAriaLabel]: '1 増やす',
  [TS.OptionalObjectAdd]: '任意項目を入力する',
  [TS.OptionalObjectRemove]: '任意項目の入力を取り消す',
  [TS.OptionalObjectEmptyMsg]: '任意項目は未入力です',
  [TS.Type]: '種類',
  [TS.Value]: '値',
  [TS.ClearButton]: '入力を消去',
  [TS.UnknownFieldType]: '不明な項目の種類です: %1',
  [TS.OptionPrefix]: '選択肢 %1',
  [TS.TitleOptionPrefix]: '%1 の選択肢 %2',
  [TS.KeyLabel]: '%1 のキー',
  [TS.DeprecatedLabel]: '%1（廃止予定）',
  [TS.UnsupportedField]: 'この項目の形式には対応していません。',
  [TS.UnsupportedFieldWithId]: '項目 `%1` の形式には対応していません。',
  [TS.UnsupportedFieldWithReason]: 'この項目の形式には対応していません: _%1_',
  [TS.UnsupportedFieldWithIdAndReason]: '項目 `%1` の形式には対応していません: _%2_',
  [TS.FilesInfo]: '**%1**（%2、%3 バイト）',
};

/** RJSF `translateString` for the language. */
export function rjsfTranslator(lang) {
  if (pickLang(lang) === 'en') return englishStringTranslator;
  return (key, params) => replaceStringParameters(RJSF_JA[key] ?? key, params);
}

const TYPE_NAMES = {
  ja: { string: '文字列', number: '数値', integer: '整数', boolean: '真偽値', array: 'リスト', object: 'オブジェクト', null: '空' },
  en: { string: 'text', number: 'a number', integer: 'a whole number', boolean: 'yes or no', array: 'a list', object: 'an object', null: 'empty' },
};
const FORMAT_NAMES = {
  ja: { email: 'メールアドレス', date: '日付（YYYY-MM-DD）', 'date-time': '日時', time: '時刻', uri: 'URL', url: 'URL', uuid: 'UUID' },
  en: { email: 'an e-mail address', date: 'a date (YYYY-MM-DD)', 'date-time': 'a date and time', time: 'a time', uri: 'a URL', url: 'a URL', uuid: 'a UUID' },
};

const MESSAGES = {
  ja: {
    required: () => '入力してください。',
    minLength: ({ limit }) => (limit <= 1 ? '入力してください。' : `${limit}文字以上で入力してください。`),
    maxLength: ({ limit }) => `${limit}文字以内で入力してください。`,
    pattern: () => '形式が正しくありません。',
    format: ({ limit }) => `${FORMAT_NAMES.ja[limit] || limit}の形式で入力してください。`,
    minimum: ({ limit }) => `${limit}以上の値を入力してください。`,
    maximum: ({ limit }) => `${limit}以下の値を入力してください。`,
    exclusiveMinimum: ({ limit }) => `${limit}より大きい値を入力してください。`,
    exclusiveMaximum: ({ limit }) => `${limit}より小さい値を入力してください。`,
    multipleOf: ({ limit }) => `${limit}の倍数を入力してください。`,
    type: ({ limit }) => `${[].concat(limit).map((t) => TYPE_NAMES.ja[t] || t).join('・')}で入力してください。`,
    enum: () => '選択肢の中から選んでください。',
    const: () => '選択肢の中から選んでください。',
    minItems: ({ limit }) => `${limit}件以上入力してください。`,
    maxItems: ({ limit }) => `${limit}件以内にしてください。`,
    uniqueItems: () => '同じ内容の項目が重複しています。',
    minProperties: ({ limit }) => `${limit}項目以上入力してください。`,
    maxProperties: ({ limit }) => `${limit}項目以内にしてください。`,
    oneOf: () => 'いずれか一つの選択肢の条件を満たしてください。',
    anyOf: () => 'いずれかの選択肢の条件を満たしてください。',
    not: () => 'この値は使用できません。',
    false: () => 'この項目は使用できません。',
    contains: () => '条件を満たす項目を含めてください。',
    dependencies: () => '入力してください。',
    dependentRequired: () => '入力してください。',
    mustCheck: () => '内容を確認して、チェックを入れてください。',
    other: () => '入力内容を確認してください。',
  },
  en: {
    required: () => 'This field is required.',
    minLength: ({ limit }) => (limit <= 1 ? 'This field is required.' : `Enter at least ${limit} characters.`),
    maxLength: ({ limit }) => `Enter at most ${limit} characters.`,
    pattern: () => 'The format is not valid.',
    format: ({ limit }) => `Enter ${FORMAT_NAMES.en[limit] || `a valid ${limit}`}.`,
    minimum: ({ limit }) => `Enter ${limit} or more.`,
    maximum: ({ limit }) => `Enter ${limit} or less.`,
    exclusiveMinimum: ({ limit }) => `Enter a value greater than ${limit}.`,
    exclusiveMaximum: ({ limit }) => `Enter a value less than ${limit}.`,
    multipleOf: ({ limit }) => `Enter a multiple of ${limit}.`,
    type: ({ limit }) => `Enter ${[].concat(limit).map((t) => TYPE_NAMES.en[t] || t).join(' or ')}.`,
    enum: () => 'Choose one of the options.',
    const: () => 'Choose one of the options.',
    minItems: ({ limit }) => `Add at least ${limit} ${limit === 1 ? 'item' : 'items'}.`,
    maxItems: ({ limit }) => `Enter at most ${limit} ${limit === 1 ? 'item' : 'items'}.`,
    uniqueItems: () => 'Some items are duplicates.',
    minProperties: ({ limit }) => `Fill in at least ${limit} fields.`,
    maxProperties: ({ limit }) => `Fill in at most ${limit} fields.`,
    oneOf: () => 'Match exactly one of the options.',
    anyOf: () => 'Match at least one of the options.',
    not: () => 'This value is not allowed.',
    false: () => 'This field is not allowed.',
    contains: () => 'Include at least one matching item.',
    dependencies: () => 'This field is required.',
    dependentRequired: () => 'This field is required.',
    mustCheck: () => 'Please confirm by ticking this box.',
    other: () => 'Please check this value.',
  },
};

/** A declaration ("I certify ...", "consent obtained"): a yes/no that only a ticked box answers. Forms write it
 * `{"type": "boolean", "not": {"const": false}}`: RJSF would tick a `const: true` box by itself (its default), and
 * re-tick an unticked `enum: [true]` one on the next change (it replaces a value outside a one-value enum). */
export function isDeclaration(schema) {
  if (!schema || typeof schema !== 'object' || schema.type !== 'boolean') return false;
  const only = (s, value) => s && typeof s === 'object'
    && (s.const === value || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === value));
  return only(schema, true) || only(schema.not, false);
}

/** Message for a failed JSON Schema keyword; `limit` is the keyword's value in the schema, `field` the schema of
 * the field the message is shown at. */
export function validationMessage(lang, keyword, { limit, parent = {}, field, value } = {}) {
  const table = MESSAGES[pickLang(lang)];
  if (['required', 'enum', 'const', 'not', 'type'].includes(keyword) && isDeclaration(field)) return table.mustCheck();
  // An emptied field of an array comes back as null: "required" reads better than "must be text".
  if (keyword === 'type' && value === null) return table.required();
  // Draft-04 boolean exclusiveMinimum/Maximum
  if (keyword === 'minimum' && parent.exclusiveMinimum === true) return table.exclusiveMinimum({ limit });
  if (keyword === 'maximum' && parent.exclusiveMaximum === true) return table.exclusiveMaximum({ limit });
  return (table[keyword] || table.other)({ limit });
}

// --- schema / uiSchema localization -------------------------------------------------------------

/** Applies `x-i18n.<lang>` overrides (title, description, enumNames, ...) throughout a JSON Schema. */
export function localizeSchema(node, lang) {
  if (Array.isArray(node)) return node.map((item) => localizeSchema(item, lang));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    // Data-carrying keywords are copied untouched.
    out[key] = ['enum', 'const', 'default', 'examples', 'x-i18n'].includes(key) ? value : localizeSchema(value, lang);
  }
  const overrides = node['x-i18n'] && node['x-i18n'][lang];
  if (lang !== 'ja' && overrides && typeof overrides === 'object') Object.assign(out, overrides);
  return out;
}

const isLangMap = (value) =>
  value && typeof value === 'object' && !Array.isArray(value) &&
  Object.keys(value).length > 0 &&
  Object.keys(value).every((k) => LANGS.includes(k)) &&
  Object.values(value).every((v) => typeof v === 'string');

/** UI schema texts may be `{"ja": "...", "en": "..."}`: pick the language (fallback Japanese, then English). */
export function localizeUiSchema(node, lang) {
  if (isLangMap(node)) return node[lang] ?? node.ja ?? node.en;
  if (Array.isArray(node)) return node.map((item) => localizeUiSchema(item, lang));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, localizeUiSchema(v, lang)]));
}

// The visual form editor: the fields of a JSON Schema form as a list (key, type, labels in Japanese and English,
// required, choices, reference list, "show only when <field> is <value>"), kept in sync with the JSON text, which
// stays the advanced view (json.jsx). A list of items (an array of objects: measures, questions, members) is a
// field of its own kind; its item fields are edited the same way ("Fields of": the list's items). Every change here is written back into the JSON; whatever the list does not
// show (descriptions, patterns, nested objects, other if/then rules) is kept as it was.
//
// Why not a library: the form builders for react-jsonschema-form (e.g. ginkgobioworks'
// react-jsonschema-form-builder) are unmaintained, pinned to old rjsf and Bootstrap versions, and know neither
// tejun's `x-i18n` labels nor its `x-reference` lists; form.io and SurveyJS builders write their own formats, not
// JSON Schema. What designers need here is small enough to own: a list editor over the schema.
import { useState } from 'react';

const KINDS = ['text', 'textarea', 'integer', 'number', 'boolean', 'date', 'choice', 'reference', 'references', 'list', 'advanced'];
const ITEMS = '[]'; // a path step into a list's items
const ORGANIZATION_LISTS = new Set(['institutions', 'ministries', 'funding_agencies']);

const isObject = (v) => v && typeof v === 'object' && !Array.isArray(v);
const clone = (v) => JSON.parse(JSON.stringify(v));

/** What the list calls a field's schema (its "type" select). */
export function kindOf(schema) {
  if (!isObject(schema)) return 'advanced';
  if (schema['x-reference']) return schema.type === 'array' ? 'references' : 'reference';
  if (schema.type === 'array' && isObject(schema.items) && schema.items['x-reference']) return 'references';
  if (schema.type === 'string') {
    if (schema.format === 'date') return 'date';
    if (Array.isArray(schema.oneOf) && schema.oneOf.every((o) => isObject(o) && 'const' in o)) return 'choice';
    if (Array.isArray(schema.enum)) return 'choice';
    if (schema.maxLength > 500 || schema['x-widget'] === 'textarea') return 'textarea';
    return 'text';
  }
  if (['integer', 'number', 'boolean'].includes(schema.type)) return schema.type;
  if (schema.type === 'array' && isObject(schema.items) && (schema.items.type === 'object' || isObject(schema.items.properties))) return 'list';
  return 'advanced';
}

/** Choices as [{value, ja, en}] from `oneOf` consts or an `enum`. */
export function choicesOf(schema) {
  if (Array.isArray(schema.oneOf)) {
    return schema.oneOf.map((o) => ({ value: String(o.const), ja: o.title || '', en: o['x-i18n']?.en?.title || '' }));
  }
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => ({ value: String(v), ja: '', en: '' }));
  return [];
}

// A rule the list can show: {if: {properties: {F: {const: V}}, required: [F]}, then: {properties, required}}
function simpleRule(rule) {
  if (!isObject(rule) || !isObject(rule.if) || !isObject(rule.then) || Object.keys(rule).some((k) => !['if', 'then'].includes(k))) return null;
  const props = rule.if.properties;
  if (!isObject(props) || Object.keys(props).length !== 1) return null;
  const [field] = Object.keys(props);
  if (!isObject(props[field]) || !('const' in props[field])) return null;
  if (Object.keys(rule.then).some((k) => !['properties', 'required'].includes(k)) || !isObject(rule.then.properties)) return null;
  return { field, value: props[field].const };
}

/** A node's fields: its own properties, then those of its simple if/then rules (with their condition). */
export function fieldsOf(node) {
  const required = new Set(node.required || []);
  const fields = Object.entries(node.properties || {}).map(([key, schema]) => ({ key, schema, required: required.has(key), condition: null }));
  const kept = [];
  for (const rule of node.allOf || []) {
    const condition = simpleRule(rule);
    if (!condition) {
      kept.push(rule);
      continue;
    }
    const needed = new Set(rule.then.required || []);
    for (const [key, schema] of Object.entries(rule.then.properties)) {
      fields.push({ key, schema, required: needed.has(key), condition });
    }
  }
  return { fields, kept };
}

/** The node with these fields written back (other keys, and rules the list does not show, unchanged). */
export function withFields(node, fields, kept) {
  const result = { ...node };
  result.properties = {};
  const required = [];
  const rules = [];
  for (const f of fields) {
    if (!f.key) continue;
    if (!f.condition || !f.condition.field) {
      result.properties[f.key] = f.schema;
      if (f.required) required.push(f.key);
      continue;
    }
    const { field, value } = f.condition;
    let rule = rules.find((r) => r.if.properties[field] && r.if.properties[field].const === value);
    if (!rule) {
      rule = { if: { properties: { [field]: { const: value } }, required: [field] }, then: { properties: {} } };
      rules.push(rule);
    }
    rule.then.properties[f.key] = f.schema;
    if (f.required) (rule.then.required ||= []).push(f.key);
  }
  if (required.length) result.required = required;
  else delete result.required;
  const allOf = [...kept, ...rules];
  if (allOf.length) result.allOf = allOf;
  else delete result.allOf;
  return result;
}

/** A field's schema turned into another kind, keeping its labels and description. */
export function asKind(schema, kind, lists) {
  const keep = {};
  for (const k of ['title', 'description', 'x-i18n']) if (schema[k] !== undefined) keep[k] = schema[k];
  const firstList = Object.keys(lists)[0] || 'technology_areas';
  switch (kind) {
    case 'text': return { type: 'string', ...keep, maxLength: 500 };
    case 'textarea': return { type: 'string', ...keep, maxLength: 4000 };
    case 'integer': return { type: 'integer', ...keep };
    case 'number': return { type: 'number', ...keep };
    case 'boolean': return { type: 'boolean', ...keep };
    case 'date': return { type: 'string', format: 'date', ...keep };
    case 'choice': return { type: 'string', ...keep, oneOf: [{ const: 'yes', title: 'はい', 'x-i18n': { en: { title: 'Yes' } } }] };
    case 'reference': return { type: ORGANIZATION_LISTS.has(firstList) ? 'integer' : 'string', ...keep, 'x-reference': firstList };
    case 'references': return { type: 'array', ...keep, uniqueItems: true, items: { type: ORGANIZATION_LISTS.has(firstList) ? 'integer' : 'string', 'x-reference': firstList } };
    case 'list': return { type: 'array', ...keep, items: { type: 'object', properties: {} } };
    default: return schema;
  }
}

function withReference(schema, name) {
  const type = ORGANIZATION_LISTS.has(name) ? 'integer' : 'string';
  if (schema.type === 'array') return { ...schema, items: { ...(schema.items || {}), type, 'x-reference': name } };
  return { ...schema, type, 'x-reference': name };
}

function withChoices(schema, text) {
  const oneOf = text.split('\n').map((line) => line.split('|').map((p) => p.trim())).filter((p) => p[0])
    .map(([value, ja, en]) => {
      const choice = { const: value, title: ja || value };
      if (en) choice['x-i18n'] = { en: { title: en } };
      return choice;
    });
  const next = { ...schema, oneOf };
  delete next.enum;
  return next;
}

function withTitle(schema, lang, text) {
  if (lang === 'ja') return { ...schema, title: text };
  const i18n = clone(schema['x-i18n'] || {});
  i18n.en = { ...(i18n.en || {}), title: text };
  if (!text) delete i18n.en.title;
  if (i18n.en && !Object.keys(i18n.en).length) delete i18n.en;
  const next = { ...schema, 'x-i18n': i18n };
  if (!Object.keys(i18n).length) delete next['x-i18n'];
  return next;
}

// Where a field sits in a node: its properties, or the `then` of one of its if/then rules.
function locate(node, key) {
  if (isObject(node.properties) && key in node.properties) return ['properties'];
  const rules = Array.isArray(node.allOf) ? node.allOf : [];
  for (let i = 0; i < rules.length; i += 1) {
    if (isObject(rules[i]?.then?.properties) && key in rules[i].then.properties) return ['allOf', i, 'then', 'properties'];
  }
  return null;
}

const getIn = (value, keys) => keys.reduce((v, k) => (v == null ? v : v[k]), value);

function setIn(value, keys, next) {
  if (!keys.length) return next;
  const copy = Array.isArray(value) ? [...value] : { ...value };
  copy[keys[0]] = setIn(value[keys[0]], keys.slice(1), next);
  return copy;
}

/** The node a path step leads to: a field (by key) or, with ITEMS, a list's item schema. */
function child(node, step) {
  if (step === ITEMS) return node.items;
  const where = locate(node, step);
  return where ? getIn(node, [...where, step]) : undefined;
}

function setChild(node, step, value) {
  if (step === ITEMS) return { ...node, items: value };
  return setIn(node, [...(locate(node, step) || ['properties']), step], value);
}

/** Paths of the nodes whose fields can be listed: the form itself, its object fields and the items of its lists
 * (also inside those, and fields shown only under a condition). */
export function objectNodes(schema) {
  const found = [[]];
  const visit = (node, path) => {
    if (path.length > 8) return;
    for (const { key, schema: sub } of fieldsOf(node).fields) {
      if (isObject(sub) && sub.type === 'object' && isObject(sub.properties)) {
        found.push([...path, key]);
        visit(sub, [...path, key]);
      } else if (kindOf(sub) === 'list') {
        found.push([...path, key, ITEMS]);
        visit(sub.items, [...path, key, ITEMS]);
      }
    }
  };
  visit(schema, []);
  return found;
}

const nodeAt = (schema, path) => path.reduce((n, step) => child(n, step) || {}, schema);

function setNode(schema, path, node) {
  if (!path.length) return node;
  return setChild(schema, path[0], setNode(child(schema, path[0]) || {}, path.slice(1), node));
}

/** What the "Fields of" list calls a node: its title (or key), a list's items as "each item of <list>". */
export function nodeLabel(schema, path, t) {
  if (!path.length) return t.root;
  const names = [];
  let node = schema;
  for (const step of path) {
    const next = child(node, step) || {};
    if (step === ITEMS) names[names.length - 1] = t.items.replace('%(list)s', names[names.length - 1]);
    else names.push((t.lang === 'en' && next['x-i18n']?.en?.title) || next.title || step);
    node = next;
  }
  return names.join(' › ');
}

function conditionValues(field) {
  if (!field) return [];
  const kind = kindOf(field.schema);
  if (kind === 'boolean') return [true, false];
  if (kind === 'choice') return choicesOf(field.schema).map((c) => c.value);
  return [];
}

function withMinItems(schema, atLeastOne) {
  const next = { ...schema };
  if (atLeastOne) next.minItems = Math.max(1, next.minItems || 0);
  else delete next.minItems;
  return next;
}

function FieldRow({ index, field, fields, texts, lists, onChange, onRemove, onMove, onOpenItems }) {
  const t = texts;
  const id = (name) => `tejun-fb-${index}-${name}`;
  const kind = kindOf(field.schema);
  // changes are applied to the field as it is when they happen (renders are asynchronous: `field` may be older)
  const set = (patch) => onChange((f) => ({ ...f, ...(typeof patch === 'function' ? patch(f) : patch) }));
  const setSchema = (make) => set((f) => ({ schema: make(f.schema) }));
  const triggers = fields.filter((f, i) => i !== index && !f.condition && ['choice', 'boolean'].includes(kindOf(f.schema)));
  const trigger = field.condition ? fields.find((f) => f.key === field.condition.field) : null;
  const values = conditionValues(trigger);
  const label = field.key || t.field.replace('%(n)s', String(index + 1));
  return (
    <li className="tejun-fb-field" data-field={field.key}>
      <fieldset>
        <legend>{label}</legend>
        <div className="tejun-fb-grid">
          <label htmlFor={id('key')}>{t.key}</label>
          <input id={id('key')} type="text" value={field.key} pattern="[A-Za-z_][A-Za-z0-9_]*"
            onChange={(e) => { const v = e.target.value.replace(/[^A-Za-z0-9_]/g, ''); set({ key: v }); }} />
          <label htmlFor={id('kind')}>{t.kind}</label>
          <select id={id('kind')} value={kind} onChange={(e) => { const v = e.target.value; setSchema((s) => asKind(s, v, lists)); }}>
            {KINDS.filter((k) => k !== 'advanced' || kind === 'advanced').map((k) => <option key={k} value={k}>{t[`kind_${k}`]}</option>)}
          </select>
          <label htmlFor={id('ja')}>{t.titleJa}</label>
          <input id={id('ja')} type="text" value={field.schema.title || ''} onChange={(e) => { const v = e.target.value; setSchema((s) => withTitle(s, 'ja', v)); }} />
          <label htmlFor={id('en')}>{t.titleEn}</label>
          <input id={id('en')} type="text" lang="en" value={field.schema['x-i18n']?.en?.title || ''}
            onChange={(e) => { const v = e.target.value; setSchema((s) => withTitle(s, 'en', v)); }} />
          {(kind === 'reference' || kind === 'references') && <>
            <label htmlFor={id('ref')}>{t.reference}</label>
            <select id={id('ref')} value={field.schema['x-reference'] || field.schema.items?.['x-reference'] || ''}
              onChange={(e) => { const v = e.target.value; setSchema((s) => withReference(s, v)); }}>
              {Object.entries(lists).map(([name, text]) => <option key={name} value={name}>{text}</option>)}
            </select>
          </>}
          {kind === 'choice' && <>
            <label htmlFor={id('choices')}>{t.choices}</label>
            <ChoicesInput id={id('choices')} hintId={id('choices-hint')} schema={field.schema} hint={t.choicesHint}
              onChange={(text) => setSchema((s) => withChoices(s, text))} />
          </>}
          <label htmlFor={id('when')}>{t.showWhen}</label>
          <span className="tejun-fb-when">
            <select id={id('when')} value={field.condition?.field || ''}
              onChange={(e) => {
                const chosen = fields.find((f) => f.key === e.target.value);
                const condition = chosen ? { field: chosen.key, value: conditionValues(chosen)[0] ?? '' } : null;
                set({ condition });
              }}>
              <option value="">{t.always}</option>
              {triggers.map((f) => <option key={f.key} value={f.key}>{f.schema.title || f.key}</option>)}
            </select>
            {field.condition && <>
              <label htmlFor={id('value')} className="tejun-fb-is">{t.is}</label>
              <select id={id('value')} value={JSON.stringify(field.condition.value)}
                onChange={(e) => { const v = JSON.parse(e.target.value); set((f) => ({ condition: { ...f.condition, value: v } })); }}>
                {values.map((v) => <option key={String(v)} value={JSON.stringify(v)}>{v === true ? t.yes : v === false ? t.no : String(v)}</option>)}
              </select>
            </>}
          </span>
        </div>
        <div className="tejun-fb-row-actions">
          <label className="tejun-fb-required">
            <input type="checkbox" checked={field.required} onChange={(e) => { const v = e.target.checked; set({ required: v }); }} /> {t.required}
          </label>
          {kind === 'list' && <>
            <label className="tejun-fb-required">
              <input type="checkbox" checked={(field.schema.minItems || 0) >= 1}
                onChange={(e) => { const v = e.target.checked; setSchema((s) => withMinItems(s, v)); }} /> {t.atLeastOne}
            </label>
            <button type="button" className="tejun-btn tejun-btn-secondary tejun-btn-small" data-action="edit-items"
              onClick={() => onOpenItems(field.key)} disabled={!field.key}>{t.editItems}</button>
          </>}
          {kind === 'advanced' && <span className="muted">{t.advanced}</span>}
          <button type="button" className="tejun-btn tejun-btn-secondary tejun-btn-small" onClick={() => onMove(-1)} disabled={index === 0}
            aria-label={`${t.up}: ${label}`}>↑</button>
          <button type="button" className="tejun-btn tejun-btn-secondary tejun-btn-small" onClick={() => onMove(1)}
            disabled={index === fields.length - 1} aria-label={`${t.down}: ${label}`}>↓</button>
          <button type="button" className="tejun-btn tejun-btn-secondary tejun-btn-small" onClick={onRemove}
            aria-label={`${t.remove}: ${label}`}>{t.remove}</button>
        </div>
      </fieldset>
    </li>
  );
}

// The choices as lines; kept as typed while the user edits (a half-typed line is not lost to reformatting).
function ChoicesInput({ id, hintId, schema, hint, onChange }) {
  const fromSchema = choicesOf(schema).map((c) => [c.value, c.ja, c.en].filter((p, i) => i === 0 || p).join(' | ')).join('\n');
  const [text, setText] = useState(fromSchema);
  const [seen, setSeen] = useState(fromSchema);
  if (fromSchema !== seen) {
    setSeen(fromSchema);
    setText(fromSchema);
  }
  return <>
    <textarea id={id} rows={4} value={text} aria-describedby={hintId}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value);
      }} />
    <span id={hintId} className="help-block tejun-fb-hint">{hint}</span>
  </>;
}

export function FormBuilder({ schema, texts, lists, onChange, latest }) {
  const lang = (document.documentElement.lang || 'ja').slice(0, 2) === 'en' ? 'en' : 'ja';
  const t = { ...texts, lang };
  const nodes = objectNodes(schema);
  // a form that is one object (its fields under one key) opens on that object's fields
  const tops = nodes.filter((p) => p.length === 1);
  const [pathKey, setPathKey] = useState(tops.length === 1 ? JSON.stringify(tops[0]) : '[]');
  const path = nodes.some((p) => JSON.stringify(p) === pathKey) ? JSON.parse(pathKey) : [];
  const node = nodeAt(schema, path);
  const { fields } = fieldsOf(node);
  // every change starts from the newest schema (`latest()`), not from the one this render was given
  const change = (edit) => {
    const current = latest ? latest() : schema;
    const at = nodeAt(current, path);
    const found = fieldsOf(at);
    onChange(setNode(current, path, withFields(at, edit(found.fields), found.kept)));
  };
  const update = (index, fn) => change((all) => all.map((f, i) => (i === index ? fn(f) : f)));
  const move = (index, by) => change((all) => {
    const next = [...all];
    const [f] = next.splice(index, 1);
    next.splice(index + by, 0, f);
    return next;
  });
  const add = () => change((all) => {
    let n = all.length + 1;
    while (all.some((f) => f.key === `field_${n}`)) n += 1;
    return [...all, { key: `field_${n}`, schema: { type: 'string', title: '', maxLength: 500 }, required: false, condition: null }];
  });
  return (
    <div className="tejun-form-builder">
      {nodes.length > 1 && (
        <p className="tejun-fb-node">
          <label htmlFor="tejun-fb-node">{t.fieldsOf}</label>{' '}
          <select id="tejun-fb-node" value={JSON.stringify(path)} onChange={(e) => setPathKey(e.target.value)}>
            {nodes.map((p) => <option key={JSON.stringify(p)} value={JSON.stringify(p)}>
              {nodeLabel(schema, p, t)}</option>)}
          </select>
        </p>
      )}
      {fields.length ? (
        <ol className="tejun-fb-fields">
          {fields.map((field, index) => (
            <FieldRow key={index} index={index} field={field} fields={fields} texts={t} lists={lists}
              onChange={(fn) => update(index, fn)} onRemove={() => change((all) => all.filter((_, i) => i !== index))}
              onMove={(by) => move(index, by)}
              onOpenItems={(key) => setPathKey(JSON.stringify([...path, key, ITEMS]))} />
          ))}
        </ol>
      ) : <p className="muted">{t.noFields}</p>}
      <p><button type="button" className="tejun-btn tejun-btn-secondary" data-action="add-field" onClick={add}>{t.add}</button></p>
    </div>
  );
}

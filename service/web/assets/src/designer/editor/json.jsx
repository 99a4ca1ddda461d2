// The JSON editor for form schemas (CodeMirror 6 with JSON syntax and a parse linter) and, beside it, a live
// preview of the form as task pages render it: the same react-jsonschema-form set-up as form.js (validator,
// templates, widgets, language handling). Loaded only when a JSON file is opened.
import { Component, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { basicSetup, EditorView } from 'codemirror';
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { linter, lintGutter } from '@codemirror/lint';
import { localizeSchema, localizeUiSchema } from '../../form/i18n.js';
import { TejunForm } from '../../form/index.jsx';
import { FormBuilder } from './form-builder.jsx';
import { el } from './dom.js';

// forms/<name>.schema.json goes with forms/<name>.uischema.json
export function pairOf(name) {
  if (name.endsWith('.uischema.json')) return name.replace(/\.uischema\.json$/, '.schema.json');
  if (name.endsWith('.schema.json')) return name.replace(/\.schema\.json$/, '.uischema.json');
  return null;
}

class Boundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  componentDidUpdate(previous) {
    if (previous.version !== this.props.version && this.state.error) this.setState({ error: null });
  }

  render() {
    if (this.state.error) {
      return <p className="tejun-banner tejun-banner-error" role="alert">{this.props.failed} {String(this.state.error.message || this.state.error)}</p>;
    }
    return this.props.children;
  }
}

// The preview is the task page's own form (TejunForm of form.js: widgets, templates, validator, declarations),
// given the schema as the task page gets it: the server fills in the reference lists and picks the language
// (POST previewUrl, the same expansion as service/cases/forms.py), so a choice from a list shows as a list.
function Preview({ schema, uiSchema, lang, texts, version }) {
  const config = useMemo(() => ({
    lang, readonly: false, expectedVersion: null, csrf: '', urls: {}, data: undefined, errors: [],
    schema: localizeSchema(schema, lang), uiSchema: localizeUiSchema(uiSchema || {}, lang),
    previewText: texts.previewOnly,
  }), [schema, uiSchema, lang, texts.previewOnly]);
  return (
    <Boundary failed={texts.previewFailed} version={version}>
      <TejunForm key={version} config={config} />
    </Boundary>
  );
}

async function expanded(url, schema, uiSchema, lang) {
  if (!url) return { schema, uiSchema };
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const res = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json', 'X-CSRFToken': csrf },
    body: JSON.stringify({ schema, ui_schema: uiSchema || {}, lang }),
  });
  const payload = await res.json().catch(() => null);
  if (!res.ok || !payload) throw new Error((payload && payload.detail) || `HTTP ${res.status}`);
  return { schema: payload.schema, uiSchema: payload.ui_schema };
}

function parse(text) {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error };
  }
}

export function createJsonEditor(host, { texts, lang, name, pairContent, onChange, previewUrl, lists, builder }) {
  const editorHost = el('div', { class: 'tejun-json-code', role: 'region', 'aria-label': name });
  const isForm = name.endsWith('.schema.json') && builder;
  const builderHost = el('div', { class: 'tejun-fb-host', id: 'tejun-fb-panel', role: 'tabpanel', 'aria-labelledby': 'tejun-fb-tab-fields' });
  const tabs = isForm ? el('div', { class: 'tejun-fb-tabs', role: 'tablist', 'aria-label': name }) : null;
  const tabButton = (id, text, panel) => el('button', { type: 'button', role: 'tab', id, class: 'tejun-fb-tab', 'aria-controls': panel, text });
  const fieldsTab = isForm ? tabButton('tejun-fb-tab-fields', builder.tabFields, 'tejun-fb-panel') : null;
  const jsonTab = isForm ? tabButton('tejun-fb-tab-json', builder.tabJson, 'tejun-json-panel') : null;
  function showTab(which) {
    if (!isForm) return;
    const fieldsShown = which === 'fields';
    fieldsTab.setAttribute('aria-selected', String(fieldsShown));
    jsonTab.setAttribute('aria-selected', String(!fieldsShown));
    fieldsTab.tabIndex = fieldsShown ? 0 : -1;
    jsonTab.tabIndex = fieldsShown ? -1 : 0;
    builderHost.hidden = !fieldsShown;
    editorHost.hidden = fieldsShown;
  }
  if (isForm) {
    tabs.append(fieldsTab, jsonTab);
    fieldsTab.addEventListener('click', () => showTab('fields'));
    jsonTab.addEventListener('click', () => showTab('json'));
    tabs.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
      const next = fieldsTab.getAttribute('aria-selected') === 'true' ? jsonTab : fieldsTab;
      showTab(next === fieldsTab ? 'fields' : 'json');
      next.focus();
    });
    editorHost.id = 'tejun-json-panel';
    editorHost.setAttribute('role', 'tabpanel');
    editorHost.setAttribute('aria-labelledby', 'tejun-fb-tab-json');
  }
  const langSelect = el('select', { id: 'tejun-preview-lang' },
    el('option', { value: 'ja', text: '日本語' }), el('option', { value: 'en', text: 'English' }));
  langSelect.value = lang;
  const status = el('p', { class: 'tejun-preview-status', role: 'status', 'aria-live': 'polite' });
  const formHost = el('div', { class: 'tejun-form tejun-preview-form' });
  const previewPanel = el('section', { class: 'tejun-json-preview', 'aria-label': texts.preview },
    el('div', { class: 'tejun-preview-head' },
      el('h2', { text: texts.preview }),
      el('label', { for: 'tejun-preview-lang', text: texts.previewLang }), langSelect),
    status, formHost);
  const left = isForm ? el('div', { class: 'tejun-fb-left' }, tabs, builderHost, editorHost) : editorHost;
  host.replaceChildren(el('div', { class: 'tejun-json-editor' }, left, previewPanel));
  const root = createRoot(formHost);
  const builderRoot = isForm ? createRoot(builderHost) : null;
  showTab('fields');
  let version = 0;
  let timer = null;
  let loading = false;

  const isUi = name.endsWith('.uischema.json');
  function render() {
    const own = parse(view.state.doc.toString());
    if (!own.ok) {
      status.textContent = texts.jsonInvalid;
      formHost.dataset.state = 'waiting';
      return;
    }
    const pair = pairOf(name);
    const other = pair ? pairContent(pair) : null;
    const otherParsed = other ? parse(other) : { ok: true, value: isUi ? null : {} };
    const schema = isUi ? (otherParsed.ok ? otherParsed.value : null) : own.value;
    const uiSchema = isUi ? own.value : (otherParsed.ok ? otherParsed.value : {});
    if (!schema || typeof schema !== 'object') {
      status.textContent = texts.noPreview;
      root.render(null);
      return;
    }
    if (builderRoot && !isUi) showBuilder(schema);
    version += 1;
    const mine = version;
    const chosen = langSelect.value;
    formHost.dataset.state = 'loading';
    expanded(previewUrl, schema, uiSchema, chosen).then((shown) => {
      if (mine !== version) return; // a newer edit is on its way
      status.textContent = '';
      formHost.dataset.state = 'ready';
      root.render(<Preview schema={shown.schema} uiSchema={shown.uiSchema} lang={chosen} texts={{ ...texts, previewOnly: builder?.previewOnly }} version={mine} />);
    }).catch((error) => {
      if (mine !== version) return;
      status.textContent = `${texts.previewFailed} ${error.message || ''}`;
      formHost.dataset.state = 'error';
    });
  }
  // the visual editor's change, written into the JSON text (which then re-renders both)
  function showBuilder(schema) {
    latestSchema = schema;
    builderRoot.render(<FormBuilder schema={schema} texts={builder} lists={lists || {}} latest={() => latestSchema}
      onChange={(next) => replace(next)} />);
  }
  let latestSchema = null;
  function replace(next) {
    showBuilder(next); // the inputs keep what was typed
    const text = `${JSON.stringify(next, null, 2)}\n`;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  }
  const schedule = () => {
    clearTimeout(timer);
    formHost.dataset.state = 'loading'; // out of date from the edit on, not only once the rebuild starts
    timer = setTimeout(render, 250);
  };
  langSelect.addEventListener('change', render);

  const view = new EditorView({
    parent: editorHost,
    extensions: [
      basicSetup,
      json(),
      linter(jsonParseLinter()),
      lintGutter(),
      EditorView.lineWrapping,
      EditorView.updateListener.of((update) => {
        if (update.docChanged && !loading) {
          onChange();
          schedule();
        }
      }),
    ],
  });

  editorHost.tejunText = () => view.state.doc.toString(); // the whole text (CodeMirror draws only what is in view)
  return {
    view,
    async open(text) {
      loading = true;
      try {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      } finally {
        loading = false;
      }
      render();
      return { warnings: [], lossy: false };
    },
    async content() {
      return view.state.doc.toString();
    },
    showProblems() {
      return 0;
    },
    focus() {
      view.focus();
      return true;
    },
    destroy() {
      clearTimeout(timer);
      root.unmount();
      builderRoot?.unmount();
      view.destroy();
    },
  };
}

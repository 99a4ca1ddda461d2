// The JSON editor for form schemas (CodeMirror 6 with JSON syntax and a parse linter) and, beside it, a live
// preview of the form as task pages render it: the same react-jsonschema-form set-up as form.js (validator,
// templates, widgets, language handling). Loaded only when a JSON file is opened.
import { Component, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import Form from '@rjsf/core';
import { basicSetup, EditorView } from 'codemirror';
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { linter, lintGutter } from '@codemirror/lint';
import CfWorkerValidator from '../../form/validator.js';
import { localizeSchema, localizeUiSchema, rjsfTranslator, uiText } from '../../form/i18n.js';
import { templates } from '../../form/templates.jsx';
import AttachmentWidget from '../../form/attachment.jsx';
import { el } from './dom.js';

const widgets = { attachment: AttachmentWidget };

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

function Preview({ schema, uiSchema, lang, texts, version }) {
  const validator = useMemo(() => new CfWorkerValidator({ lang }), [lang]);
  const formContext = useMemo(() => ({
    t: uiText(lang), lang, uploadUrl: null, csrf: '',
    post: async () => ({ ok: false, status: 0, payload: { detail: texts.preview } }),
  }), [lang, texts.preview]);
  return (
    <Boundary failed={texts.previewFailed} version={version}>
      <Form
        key={version}
        className="tejun-rjsf"
        schema={localizeSchema(schema, lang)}
        uiSchema={localizeUiSchema(uiSchema || {}, lang)}
        validator={validator}
        widgets={widgets}
        templates={templates}
        translateString={rjsfTranslator(lang)}
        formContext={formContext}
        experimental_defaultFormStateBehavior={{ constAsDefaults: 'skipOneOf' }}
        showErrorList="top"
        noHtml5Validate
        onSubmit={() => {}}
      >
        <div className="tejun-form-actions">
          <button type="submit" className="tejun-btn tejun-btn-secondary">{uiText(lang)('submit')}</button>
        </div>
      </Form>
    </Boundary>
  );
}

function parse(text) {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error };
  }
}

export function createJsonEditor(host, { texts, lang, name, pairContent, onChange }) {
  const editorHost = el('div', { class: 'tejun-json-code', role: 'region', 'aria-label': name });
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
  host.replaceChildren(el('div', { class: 'tejun-json-editor' }, editorHost, previewPanel));
  const root = createRoot(formHost);
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
    status.textContent = '';
    version += 1;
    formHost.dataset.state = 'ready';
    root.render(<Preview schema={schema} uiSchema={uiSchema} lang={langSelect.value} texts={texts} version={version} />);
  }
  const schedule = () => {
    clearTimeout(timer);
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
      view.destroy();
    },
  };
}

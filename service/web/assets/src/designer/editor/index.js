// The designer's editing page: the files of one model version, each opened in its editor (BPMN: bpmn-js
// Modeler; DMN: dmn-js; JSON: CodeMirror with a live form preview), validation with problems listed and
// marked on the diagram, and saving the edited files as a new draft version.
//
// Page contract (service/web/templates/designer/edit.html):
//   <div id="tejun-designer-editor" data-lang="ja">
//   <script type="application/json" id="tejun-designer-config">{version_id, set_name, files: [{name, kind,
//     url}], validate_url, save_url, roles, stages, priorities, labels, texts}</script>
// POST validate_url / save_url with {files: {name: text}, removed: [], comment} and the X-CSRFToken header:
//   validate -> 200 {valid, errors: [{file, element_id, message}]}
//   save     -> 201/200 {version_id, created, url}; 422 problem+json {detail, errors: [...]}
import { createBpmnEditor } from './bpmn.js';
import { el } from './dom.js';

const FORM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.(schema|uischema)\.json$/;

function newForm(title) {
  return `${JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title,
    type: 'object',
    properties: {},
  }, null, 2)}\n`;
}

async function postJSON(url, body) {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json', 'X-CSRFToken': csrf },
    body: JSON.stringify(body),
  });
  let payload = null;
  try {
    payload = await res.json();
  } catch {
    /* not JSON */
  }
  return { ok: res.ok, status: res.status, payload };
}

class Workspace {
  constructor(container, config) {
    this.container = container;
    this.config = config;
    this.texts = config.texts;
    this.lang = (container.dataset.lang || document.documentElement.lang || 'ja').slice(0, 2) === 'en' ? 'en' : 'ja';
    this.files = new Map(config.files.map((f) => [f.name, { ...f, original: null, current: null, dirty: false, isNew: false, lossy: false }]));
    this.problems = [];
    this.active = null;
    this.editors = {};
    this.opening = false;
    this.busy = false;
    const labels = config.labels || {};
    this.tejun = {
      texts: this.texts,
      roles: config.roles,
      stages: config.stages,
      priorities: config.priorities,
      forms: () => [...this.files.keys()].filter((n) => n.endsWith('.json')).sort(),
      label: (kind, value) => {
        const words = labels[kind === 'stage' ? 'stage' : kind === 'priority' ? 'priority' : kind === 'role' ? 'role' : ''] || {};
        return words[value] ? `${words[value]} (${value})` : value;
      },
    };
    this.build();
  }

  // -- layout ---------------------------------------------------------------------------------------

  build() {
    const t = this.texts;
    this.comment = el('input', { id: 'tejun-draft-comment', type: 'text', maxlength: '500', class: 'tejun-draft-comment' });
    this.validateButton = el('button', { type: 'button', class: 'tejun-btn tejun-btn-secondary', 'data-action': 'validate', text: t.validate, onclick: () => this.validate() });
    this.saveButton = el('button', { type: 'button', class: 'tejun-btn tejun-btn-primary', 'data-action': 'save', text: t.save, onclick: () => this.save() });
    this.status = el('p', { class: 'tejun-editor-status', role: 'status', 'aria-live': 'polite' });
    const bar = el('div', { class: 'tejun-editor-bar' },
      el('label', { for: 'tejun-draft-comment', text: t.comment }), this.comment, this.validateButton, this.saveButton, this.status);

    this.fileList = el('ul', { class: 'tejun-file-list' });
    this.newName = el('input', { id: 'tejun-new-form', type: 'text', placeholder: t.formNameHint, 'aria-describedby': 'tejun-new-form-hint' });
    this.newHint = el('p', { id: 'tejun-new-form-hint', class: 'muted', text: t.badName });
    const addForm = el('details', { class: 'tejun-add-form' },
      el('summary', { text: t.addForm }),
      el('label', { for: 'tejun-new-form', text: t.formName }), this.newName, this.newHint,
      el('button', { type: 'button', class: 'tejun-btn tejun-btn-secondary tejun-btn-small', text: t.addForm, onclick: () => this.addForm() }));
    const nav = el('nav', { class: 'tejun-editor-files', 'aria-label': t.files }, el('h2', { text: t.files }), this.fileList, addForm);

    this.banner = el('div', { class: 'tejun-editor-banner' });
    this.hosts = {
      bpmn: el('div', { class: 'tejun-editor-host', 'data-kind': 'bpmn', hidden: true }),
      dmn: el('div', { class: 'tejun-editor-host', 'data-kind': 'dmn', hidden: true }),
      form: el('div', { class: 'tejun-editor-host', 'data-kind': 'form', hidden: true }),
    };
    this.title = el('h2', { class: 'tejun-editor-title' });
    const main = el('div', { class: 'tejun-editor-main' }, this.title, this.banner, ...Object.values(this.hosts));

    this.problemSummary = el('p', { class: 'tejun-problem-summary' });
    this.problemList = el('ul', { class: 'tejun-problem-list' });
    this.problemPanel = el('section', { class: 'tejun-problems', 'aria-labelledby': 'tejun-problems-heading', hidden: true },
      el('h2', { id: 'tejun-problems-heading', text: t.problems }), this.problemSummary, this.problemList);

    this.container.replaceChildren(bar, this.problemPanel, el('div', { class: 'tejun-editor-body' }, nav, main));
    this.renderFiles();
    window.addEventListener('beforeunload', (event) => {
      if (this.anyDirty()) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
  }

  anyDirty() {
    return [...this.files.values()].some((f) => f.dirty || f.isNew);
  }

  renderFiles() {
    const t = this.texts;
    const order = { bpmn: 0, dmn: 1, form: 2 };
    const entries = [...this.files.values()].sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name));
    const problemsIn = new Map();
    for (const p of this.problems) problemsIn.set(p.file, (problemsIn.get(p.file) || 0) + 1);
    this.fileList.replaceChildren(...entries.map((f) => el('li', {},
      el('button', {
        type: 'button', class: 'tejun-file', 'data-file': f.name, 'aria-current': f.name === this.active ? 'true' : undefined,
        onclick: () => this.open(f.name),
      },
      el('span', { class: 'tejun-file-name', text: f.name }),
      f.isNew ? el('span', { class: 'tejun-file-flag', text: t.new }) : (f.dirty ? el('span', { class: 'tejun-file-flag', text: t.changed }) : null),
      problemsIn.get(f.name) ? el('span', { class: 'tejun-file-problems', text: `! ${problemsIn.get(f.name)}` }) : null))));
  }

  setStatus(text, kind = '') {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  showBanner(text, kind = 'error', link = null) {
    this.banner.replaceChildren();
    if (!text) return;
    this.banner.append(el('div', { class: `tejun-banner tejun-banner-${kind}`, role: 'alert' },
      el('p', { class: 'tejun-banner-text', text }), link));
  }

  // -- editors --------------------------------------------------------------------------------------

  async editorFor(kind, file) {
    const onChange = () => this.changed();
    if (kind === 'bpmn') {
      this.editors.bpmn ||= createBpmnEditor(this.hosts.bpmn, { texts: this.texts, tejun: this.tejun, onChange });
      return this.editors.bpmn;
    }
    if (kind === 'dmn') {
      if (!this.editors.dmn) {
        const { createDmnEditor } = await import('./dmn.js');
        this.editors.dmn = createDmnEditor(this.hosts.dmn, { texts: this.texts, onChange });
      }
      return this.editors.dmn;
    }
    // a JSON editor is made for each file (its preview pairs it with the file's schema or UI schema)
    const { createJsonEditor } = await import('./json.jsx');
    this.editors.form?.destroy();
    this.editors.form = createJsonEditor(this.hosts.form, {
      texts: this.texts, lang: this.lang, name: file.name, onChange, pairContent: (name) => this.textOf(name),
      previewUrl: this.config.form_preview_url, lists: this.config.reference_lists, builder: this.config.builder,
    });
    return this.editors.form;
  }

  textOf(name) {
    const f = this.files.get(name);
    if (!f) return null;
    if (name === this.active && this.editors.form && f.kind === 'form') return null;
    return f.current ?? f.original;
  }

  changed() {
    if (this.opening || !this.active) return;
    if (!this.problemPanel.hidden && !this.problemPanel.dataset.stale) {
      this.problemPanel.dataset.stale = 'true';
      this.problemSummary.append(el('span', { class: 'tejun-stale', text: ` ${this.texts.stale}` }));
    }
    const f = this.files.get(this.active);
    if (!f.dirty) {
      f.dirty = true;
      this.renderFiles();
    }
  }

  // Keep the open file's edits before leaving it (or before validating or saving).
  async stash() {
    if (!this.active) return;
    const f = this.files.get(this.active);
    if (f.dirty || f.isNew) f.current = await this.editors[f.kind].content();
  }

  async load(f) {
    if (f.original === null) {
      const res = await fetch(f.url, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      f.original = await res.text();
    }
    return f.current ?? f.original;
  }

  async open(name, { focus } = {}) {
    const f = this.files.get(name);
    if (!f || this.busy) return false;
    if (name !== this.active) {
      this.busy = true;
      try {
        await this.stash();
        this.setStatus(this.texts.loading);
        const text = await this.load(f);
        const editor = await this.editorFor(f.kind, f);
        for (const [kind, host] of Object.entries(this.hosts)) host.hidden = kind !== f.kind;
        this.opening = true;
        this.active = name;
        try {
          const result = await editor.open(text);
          f.lossy = result.lossy;
        } finally {
          this.opening = false;
        }
        this.title.textContent = name;
        this.container.dataset.activeFile = name;
        this.showBanner(f.lossy ? this.texts.lossWarning : '', 'conflict');
        editor.showProblems(this.problems.filter((p) => p.file === name));
        this.setStatus('');
      } catch (error) {
        console.error('tejun-designer: cannot open', name, error);
        this.showBanner(this.texts.loadFailed);
        this.setStatus('');
        return false;
      } finally {
        this.busy = false;
        this.renderFiles();
      }
    }
    if (focus) await this.editors[f.kind].focus(focus);
    return true;
  }

  addForm() {
    const name = this.newName.value.trim();
    if (!FORM_NAME.test(name)) {
      this.newName.setAttribute('aria-invalid', 'true');
      this.newHint.textContent = this.texts.badName;
      return;
    }
    if (this.files.has(name)) {
      this.newName.setAttribute('aria-invalid', 'true');
      this.newHint.textContent = this.texts.exists;
      return;
    }
    this.newName.removeAttribute('aria-invalid');
    const content = name.endsWith('.uischema.json') ? '{}\n' : newForm(name.replace(/\.schema\.json$/, ''));
    this.files.set(name, { name, kind: 'form', url: null, original: content, current: content, dirty: true, isNew: true, lossy: false });
    this.newName.value = '';
    this.open(name);
  }

  // -- validation and saving --------------------------------------------------------------------------

  async edits() {
    await this.stash();
    const files = {};
    for (const f of this.files.values()) {
      if ((f.dirty || f.isNew) && f.current !== null) files[f.name] = f.current;
    }
    return files;
  }

  showProblems(problems) {
    const t = this.texts;
    this.problems = problems;
    this.problemPanel.hidden = false;
    delete this.problemPanel.dataset.stale;
    this.problemPanel.dataset.count = String(problems.length);
    if (!problems.length) {
      this.problemSummary.textContent = t.valid;
      this.problemSummary.className = 'tejun-problem-summary tejun-valid';
      this.problemList.replaceChildren();
    } else {
      this.problemSummary.textContent = t.problemCount.replace('%(count)s', String(problems.length));
      this.problemSummary.className = 'tejun-problem-summary';
      this.problemList.replaceChildren(...problems.map((p) => el('li', {},
        el('button', {
          type: 'button', class: 'tejun-problem', 'data-file': p.file, 'data-element': p.element_id || '',
          onclick: () => this.open(p.file, { focus: p.element_id }),
        },
        el('span', { class: 'tejun-problem-where', text: `${p.file} · ${p.element_id || t.wholeFile}` }),
        el('span', { class: 'tejun-problem-message', text: p.message })))));
    }
    if (this.active) this.editors[this.files.get(this.active).kind]?.showProblems(problems.filter((p) => p.file === this.active));
    this.renderFiles();
  }

  // Warnings (a name in one language only) under the problems: listed the same way, never blocking a save.
  showWarnings(warnings) {
    if (!warnings.length || !this.texts.nameWarnings) return;
    const t = this.texts;
    this.problemPanel.hidden = false;
    this.problemPanel.dataset.warnings = String(warnings.length);
    this.problemList.append(
      el('li', { class: 'tejun-warning-summary', text: t.nameWarnings.replace('%(count)s', String(warnings.length)) }),
      ...warnings.map((w) => el('li', { class: 'tejun-warning' },
        el('button', {
          type: 'button', class: 'tejun-problem tejun-problem-warning', 'data-file': w.file, 'data-element': w.element_id || '',
          onclick: () => this.open(w.file, { focus: w.element_id }),
        },
        el('span', { class: 'tejun-problem-where', text: `${w.file} · ${w.element_id || t.wholeFile}` }),
        el('span', { class: 'tejun-problem-message', text: w.message })))));
  }

  async validate() {
    const t = this.texts;
    this.validateButton.disabled = true;
    this.setStatus(t.validating);
    try {
      const res = await postJSON(this.config.validate_url, { files: await this.edits(), removed: [] });
      if (!res.ok || !res.payload) throw new Error(res.payload?.detail || `HTTP ${res.status}`);
      this.showProblems(res.payload.errors || []);
      this.showWarnings(res.payload.warnings || []);
      this.setStatus(res.payload.valid ? t.valid : t.problemCount.replace('%(count)s', String(res.payload.errors.length)),
        res.payload.valid ? 'ok' : 'problems');
    } catch (error) {
      this.setStatus(`${t.failed} ${error.message || ''}`, 'error');
    } finally {
      this.validateButton.disabled = false;
    }
  }

  async save() {
    const t = this.texts;
    const lossy = [...this.files.values()].filter((f) => f.lossy && (f.dirty || f.isNew));
    if (lossy.length) {
      this.showBanner(`${t.lossWarning} (${lossy.map((f) => f.name).join(', ')})`);
      return;
    }
    this.saveButton.disabled = true;
    this.setStatus(t.saving);
    try {
      const res = await postJSON(this.config.save_url, { files: await this.edits(), removed: [], comment: this.comment.value });
      if (res.status === 422 && res.payload) {
        this.showProblems(res.payload.errors || []);
        this.setStatus(t.refused, 'problems');
        this.showBanner(t.refused);
      } else if (res.ok && res.payload && res.payload.url) {
        for (const f of this.files.values()) {
          f.dirty = false;
          f.isNew = false;
        }
        if (res.payload.created) {
          this.setStatus(t.saved, 'ok');
          window.location.assign(res.payload.url);
          return;
        }
        this.setStatus(t.same, 'ok');
        this.showBanner(t.same, 'success', el('a', { href: res.payload.url, text: `#${res.payload.version_id}` }));
      } else {
        throw new Error(res.payload?.detail || `HTTP ${res.status}`);
      }
    } catch (error) {
      this.setStatus(`${t.failed} ${error.message || ''}`, 'error');
    }
    this.saveButton.disabled = false;
  }
}

async function start() {
  const container = document.getElementById('tejun-designer-editor');
  const block = document.getElementById('tejun-designer-config');
  if (!container || !block || container.dataset.mounted) return;
  container.dataset.mounted = 'true';
  const config = JSON.parse(block.textContent);
  const workspace = new Workspace(container, config);
  // the main process first (the case's own diagram), else the first diagram
  const first = config.files.find((f) => f.name === config.main_file)
    || config.files.find((f) => f.kind === 'bpmn') || config.files[0];
  if (first) await workspace.open(first.name);
  container.dataset.state = 'ready';
}

start();

// form.js: renders the task form of a server page with react-jsonschema-form.
// Mount contract: see ../../README.md ("form.js").
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import Form, { getDefaultRegistry } from '@rjsf/core';
import { ErrorSchemaBuilder } from '@rjsf/utils';
import CfWorkerValidator from './validator.js';
import { isDeclaration, localizeSchema, localizeUiSchema, pickLang, rjsfTranslator, uiText } from './i18n.js';
import { fieldId, templates } from './templates.jsx';
import AttachmentWidget from './attachment.jsx';

const DefaultCheckbox = getDefaultRegistry().widgets.CheckboxWidget;

// A declaration's box is marked required (*) the way RJSF marks a `const: true` one; it still starts unticked.
function CheckboxWidget(props) {
  const { schema } = props;
  return <DefaultCheckbox {...props} schema={isDeclaration(schema) ? { ...schema, const: true } : schema} />;
}

const widgets = { attachment: AttachmentWidget, CheckboxWidget };

function readJSON(id, fallback) {
  const el = document.getElementById(id);
  if (!el || !el.textContent.trim()) return fallback;
  return JSON.parse(el.textContent);
}

/** '/members/0/email' -> ['members', '0', 'email'] (RFC 6901). */
export function pointerPath(pointer) {
  if (!pointer || pointer === '/') return [];
  return String(pointer).replace(/^#/, '').split('/').slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Server errors [{pointer, message}] -> RJSF ErrorSchema (for `extraErrors`). */
export function errorSchemaFromPointers(errors) {
  const builder = new ErrorSchemaBuilder();
  for (const { pointer, message } of errors || []) {
    if (message) builder.addErrors(String(message), pointerPath(pointer));
  }
  return builder.ErrorSchema;
}

// Errors in the order their fields appear on the page (for the summary and the first focus).
function inPageOrder(errors) {
  const at = (error) => document.getElementById(fieldId(error.property));
  return errors
    .map((error, index) => ({ error, index, el: at(error) }))
    .sort((a, b) => {
      if (a.el && b.el && a.el !== b.el) {
        return a.el.compareDocumentPosition(b.el) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
      }
      if (!a.el !== !b.el) return a.el ? -1 : 1;
      return a.index - b.index;
    })
    .map(({ error }) => error);
}

function sameOrigin(url) {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch {
    return false;
  }
}

function makePost(csrf) {
  // POST with the CSRF header; JSON bodies are serialized here, FormData is sent as multipart.
  return async function post(url, body) {
    const isForm = body instanceof FormData;
    const headers = { Accept: 'application/json, application/problem+json', 'X-CSRFToken': csrf };
    if (!isForm) headers['Content-Type'] = 'application/json';
    const res = await fetch(url, {
      method: 'POST', credentials: 'same-origin', headers, body: isForm ? body : JSON.stringify(body),
    });
    let payload = null;
    try {
      payload = await res.json();
    } catch {
      /* no JSON body */
    }
    return { ok: res.ok, status: res.status, payload };
  };
}

function Banner({ banner, t, doneUrl, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    if (banner) ref.current?.focus();
  }, [banner]);
  if (!banner) return null;
  return (
    <div ref={ref} className={`tejun-banner tejun-banner-${banner.kind}`} role="alert" tabIndex={-1}
      data-kind={banner.kind}>
      <p className="tejun-banner-text">{banner.text}</p>
      {banner.items?.length > 0 && <ul>{banner.items.map((item, i) => <li key={i}>{item}</li>)}</ul>}
      <div className="tejun-banner-actions">
        {banner.kind === 'conflict' && doneUrl && <a href={doneUrl}>{t('backToList')}</a>}
        <button type="button" className="tejun-btn tejun-btn-secondary tejun-btn-small" onClick={onClose}>
          {t('dismiss')}
        </button>
      </div>
    </div>
  );
}

// Also the designer's form preview (src/designer/editor/json.jsx): the very form users get, with no submit URL
// (submitting there only says it was a preview).
export function TejunForm({ config }) {
  const { lang, urls, readonly } = config;
  const t = useMemo(() => uiText(lang), [lang]);
  const post = useMemo(() => makePost(config.csrf), [config.csrf]);
  const validator = useMemo(() => new CfWorkerValidator({ lang }), [lang]);
  const formRef = useRef(null);
  const dataRef = useRef(config.data);
  const [extraErrors, setExtraErrors] = useState(() => errorSchemaFromPointers(config.errors));
  const [pendingFocus, setPendingFocus] = useState(() => (config.errors?.length ? config.errors : null));
  const [banner, setBanner] = useState(null);
  const [draft, setDraft] = useState({ state: 'idle', text: '' });
  const [busy, setBusy] = useState(false);
  const [touched, setTouched] = useState(false);

  const formContext = useMemo(
    () => ({ t, lang, post, uploadUrl: urls.upload, csrf: config.csrf }),
    [t, lang, post, urls.upload, config.csrf],
  );

  // Move the focus to the first field named by server errors once they are rendered.
  useEffect(() => {
    if (!pendingFocus || !formRef.current) return;
    const first = pendingFocus.find((e) => pointerPath(e.pointer).length > 0);
    if (first) {
      const path = pointerPath(first.pointer);
      const form = formRef.current.formElement.current;
      for (let n = path.length; n > 0; n--) {
        const id = ['root', ...path.slice(0, n)].join('_');
        const el = document.getElementById(id);
        const target = el && (/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(el.tagName) ? el
          : el.querySelector('input, select, textarea, button'));
        if (target && form.contains(target)) {
          target.focus();
          break;
        }
      }
    }
    setPendingFocus(null);
  }, [pendingFocus]);

  const handleProblem = useCallback((res) => {
    const { status, payload } = res;
    const detail = payload && (payload.detail || payload.title);
    if (status === 422 && payload && Array.isArray(payload.errors)) {
      setExtraErrors(errorSchemaFromPointers(payload.errors));
      const general = payload.errors.filter((e) => pointerPath(e.pointer).length === 0).map((e) => e.message);
      // Field errors are listed in the error summary and next to their fields; the banner is for the rest.
      if (general.length || !payload.errors.length) {
        setBanner({ kind: 'error', text: detail || t('invalid'), items: general });
      }
      setPendingFocus(payload.errors);
    } else if (status === 409) {
      setBanner({ kind: 'conflict', text: detail || t('conflict') });
    } else {
      setBanner({ kind: 'error', text: detail ? `${detail} (${status})` : t('failed', status) });
    }
  }, [t]);

  const onSubmit = useCallback(async ({ formData }) => {
    if (!urls.submit) {
      setBanner({ kind: 'success', text: config.previewText || t('sent') });
      return;
    }
    setBusy(true);
    setBanner(null);
    setExtraErrors(undefined);
    try {
      // the case's version when the page was rendered: a stale page gets the 409 (someone else was faster)
      const body = { data: formData };
      if (config.expectedVersion) body.expected_version = config.expectedVersion;
      const res = await post(urls.submit, body);
      if (res.ok) {
        const next = res.payload && res.payload.next_url;
        const target = next && sameOrigin(next) ? next : urls.done;
        if (target) {
          window.location.assign(target);
          return; // keep the buttons disabled while the browser leaves
        }
        setBanner({ kind: 'success', text: t('sent') });
      } else {
        handleProblem(res);
      }
    } catch {
      setBanner({ kind: 'error', text: t('network') });
    }
    setBusy(false);
  }, [post, urls, t, handleProblem, config.expectedVersion, config.previewText]);

  const saveDraft = useCallback(async () => {
    setDraft({ state: 'saving', text: t('savingDraft') });
    try {
      const res = await post(urls.draft, { data: dataRef.current ?? {} });
      if (res.ok) {
        const time = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(new Date());
        setDraft({ state: 'saved', text: t('draftSaved', time) });
      } else {
        const detail = res.payload && (res.payload.detail || res.payload.title);
        setDraft({ state: 'failed', text: detail ? `${t('draftFailed')} ${detail}` : t('draftFailed') });
        if (res.status === 409) handleProblem(res);
      }
    } catch {
      setDraft({ state: 'failed', text: `${t('draftFailed')} ${t('network')}` });
    }
  }, [post, urls.draft, lang, t, handleProblem]);

  const submitText = config.uiSchema?.['ui:submitButtonOptions']?.submitText || t('submit');

  return (
    <>
      <Banner banner={banner} t={t} doneUrl={urls.done} onClose={() => setBanner(null)} />
      <Form
        ref={formRef}
        className="tejun-rjsf"
        schema={config.schema}
        uiSchema={config.uiSchema}
        initialFormData={config.data}
        validator={validator}
        widgets={widgets}
        templates={templates}
        translateString={rjsfTranslator(lang)}
        formContext={formContext}
        extraErrors={extraErrors}
        // A const inside oneOf is an option of a list ("研究代表者"...), not a value to preselect.
        experimental_defaultFormStateBehavior={{ constAsDefaults: 'skipOneOf' }}
        // Fields of a choice not taken (a decision's own fields under if/then) are hidden: what was typed
        // into them before the choice changed is not sent.
        omitExtraData
        liveValidate={touched ? 'onBlur' : false}
        transformErrors={inPageOrder}
        showErrorList="top"
        focusOnFirstError
        noHtml5Validate
        readonly={readonly}
        onChange={(e) => {
          dataRef.current = e.formData;
        }}
        onError={() => setTouched(true)}
        onSubmit={onSubmit}
      >
        {readonly ? <></> : (
          <div className="tejun-form-actions">
            <button type="submit" className="tejun-btn tejun-btn-primary" disabled={busy}>
              {busy ? t('submitting') : submitText}
            </button>
            {urls.draft && (
              <button type="button" className="tejun-btn tejun-btn-secondary" onClick={saveDraft}
                disabled={busy || draft.state === 'saving'}>
                {t('saveDraft')}
              </button>
            )}
            <span className="tejun-draft-status" role="status" aria-live="polite" data-state={draft.state}>
              {draft.text}
            </span>
          </div>
        )}
      </Form>
    </>
  );
}

export function mount(container = document.getElementById('tejun-form')) {
  if (!container || container.dataset.mounted) return null;
  container.dataset.mounted = 'true';
  const lang = pickLang(container.dataset.lang || document.documentElement.lang);
  const root = createRoot(container);
  try {
    const config = {
      lang,
      readonly: container.dataset.readonly === 'true',
      expectedVersion: Number.parseInt(container.dataset.expectedVersion || '', 10) || null,
      csrf: document.querySelector('meta[name="csrf-token"]')?.content || '',
      urls: {
        submit: container.dataset.submitUrl,
        draft: container.dataset.draftUrl,
        upload: container.dataset.uploadUrl,
        done: container.dataset.doneUrl,
      },
      schema: localizeSchema(readJSON('tejun-form-schema', {}), lang),
      uiSchema: localizeUiSchema(readJSON('tejun-form-uischema', {}), lang),
      data: readJSON('tejun-form-data', undefined) ?? undefined,
      errors: readJSON('tejun-form-errors', []),
    };
    container.classList.add('tejun-form');
    root.render(<TejunForm config={config} />);
  } catch (error) {
    console.error('tejun-form: cannot start', error);
    root.render(<p className="tejun-banner tejun-banner-error" role="alert">{uiText(lang)('loadError')}</p>);
  }
  return root;
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => mount());
else mount();

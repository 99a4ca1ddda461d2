// "attachment" widget: uploads each chosen file to the page's data-upload-url and keeps {id, name}.
//   type "array" (of objects)  -> [{id, name}, ...]
//   type "object"              -> {id, name}
//   type "string"              -> the id (the name is shown while the page is open)
// uiSchema "ui:options": {"accept": ".pdf,image/*", "maxSize": 10485760} are checked before uploading;
// the server stays the judge (its 4xx problem+json `detail` is shown under the field).
import { useRef, useState } from 'react';
import { ariaDescribedByIds, TranslatableString as TS } from '@rjsf/utils';

function formatBytes(n, lang) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: i ? 1 : 0 }).format(v)} ${units[i]}`;
}

function toItems(value, type, names) {
  if (type === 'array') return (Array.isArray(value) ? value : []).filter(Boolean);
  if (type === 'object') return value && value.id ? [value] : [];
  return value ? [{ id: value, name: names[value] || value }] : [];
}

export default function AttachmentWidget(props) {
  const { id, value, onChange, schema, disabled, readonly, registry, options, multiple } = props;
  const { formContext } = registry;
  const { t, lang, post } = formContext;
  const type = schema.type === 'array' || multiple ? 'array' : schema.type === 'object' ? 'object' : 'string';
  const [names, setNames] = useState({});
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const input = useRef(null);
  const items = toItems(value, type, names);
  const off = disabled || readonly;

  async function upload(file) {
    if (options.maxSize && file.size > options.maxSize) {
      throw new Error(t('tooLarge', formatBytes(options.maxSize, lang)));
    }
    const body = new FormData();
    body.append('file', file, file.name);
    const res = await post(formContext.uploadUrl, body);
    if (!res.ok || !res.payload || !res.payload.id) {
      throw new Error((res.payload && (res.payload.detail || res.payload.title)) || t('uploadFailed'));
    }
    return { id: String(res.payload.id), name: res.payload.name || file.name };
  }

  async function onFiles(event) {
    const files = Array.from(event.target.files || []);
    event.target.value = '';
    if (!files.length) return;
    setBusy(true);
    setProblem(null);
    const added = [];
    const problems = [];
    for (const file of files) {
      try {
        added.push(await upload(file));
      } catch (error) {
        problems.push(`${file.name}: ${error.message}`);
      }
    }
    setBusy(false);
    if (problems.length) setProblem(problems.join('\n'));
    if (!added.length) return;
    if (type === 'array') onChange([...items, ...added]);
    else if (type === 'object') onChange(added[added.length - 1]);
    else {
      const last = added[added.length - 1];
      setNames((prev) => ({ ...prev, [last.id]: last.name }));
      onChange(last.id);
    }
  }

  function remove(item) {
    if (type === 'array') onChange(items.filter((other) => other !== item));
    else onChange(undefined);
    input.current?.focus();
  }

  const problemId = `${id}__upload-error`;
  return (
    <div className="tejun-attachment">
      {items.length > 0 ? (
        <ul className="tejun-attachment-list">
          {items.map((item) => (
            <li key={item.id}>
              <span className="tejun-attachment-name">{item.name}</span>
              {!off && (
                <button type="button" className="tejun-btn tejun-btn-danger tejun-btn-small"
                  aria-label={t('removeFile', item.name)} onClick={() => remove(item)}>
                  {registry.translateString(TS.RemoveButton)}
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p className="tejun-attachment-empty">{t('noFiles')}</p>
      )}
      {!off && (
        <input ref={input} type="file" id={id} name={id} className="tejun-attachment-input"
          multiple={type === 'array'} accept={options.accept || undefined} disabled={busy}
          aria-describedby={`${ariaDescribedByIds(id)} ${problemId}`} aria-invalid={problem ? true : undefined}
          onChange={onFiles} />
      )}
      <p className="tejun-attachment-status" role="status" aria-live="polite">{busy ? t('uploading') : ''}</p>
      {problem && <p id={problemId} className="tejun-attachment-error" role="alert">{problem}</p>}
    </div>
  );
}

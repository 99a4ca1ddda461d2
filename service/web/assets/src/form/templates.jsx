// RJSF template overrides: labelled (not icon-only) buttons, array rows as labelled groups, aria-invalid.
import { useEffect } from 'react';
import { getDefaultRegistry } from '@rjsf/core';
import { buttonId, toPath, TranslatableString as TS } from '@rjsf/utils';

const defaults = getDefaultRegistry().templates;

function Button({ id, className = '', onClick, disabled, children, label, kind = 'secondary' }) {
  return (
    <button type="button" id={id} className={`tejun-btn tejun-btn-${kind} ${className}`} onClick={onClick}
      disabled={disabled} aria-label={label}>
      {children}
    </button>
  );
}

function AddButton({ id, className, onClick, disabled, registry }) {
  return (
    <div className="tejun-array-add">
      <Button id={id} className={className} onClick={onClick} disabled={disabled}>
        <span aria-hidden="true">＋ </span>{registry.translateString(TS.AddItemButton)}
      </Button>
    </div>
  );
}

// Text buttons instead of RJSF's glyph-icon ones (for any other place RJSF uses them).
const textButton = (key, kind = 'secondary') =>
  function TextButton({ id, className, onClick, disabled, registry }) {
    return (
      <Button id={id} className={className} onClick={onClick} disabled={disabled} kind={kind}>
        {registry.translateString(key)}
      </Button>
    );
  };

function ArrayFieldItemButtonsTemplate(props) {
  const { disabled, readonly, hasCopy, hasMoveDown, hasMoveUp, hasRemove, fieldPathId, index, registry,
    onCopyItem, onRemoveItem, onMoveDownItem, onMoveUpItem } = props;
  const t = registry.translateString;
  const row = `${(props.schema && props.schema.title) || t(TS.ArrayItemTitle)} ${index + 1}`;
  const off = disabled || readonly;
  return (
    <>
      {(hasMoveUp || hasMoveDown) && (
        <Button id={buttonId(fieldPathId, 'moveUp')} className="rjsf-array-item-move-up" onClick={onMoveUpItem}
          disabled={off || !hasMoveUp} label={`${t(TS.MoveUpButton)}: ${row}`}>{t(TS.MoveUpButton)}</Button>
      )}
      {(hasMoveUp || hasMoveDown) && (
        <Button id={buttonId(fieldPathId, 'moveDown')} className="rjsf-array-item-move-down"
          onClick={onMoveDownItem} disabled={off || !hasMoveDown} label={`${t(TS.MoveDownButton)}: ${row}`}>
          {t(TS.MoveDownButton)}
        </Button>
      )}
      {hasCopy && (
        <Button id={buttonId(fieldPathId, 'copy')} className="rjsf-array-item-copy" onClick={onCopyItem}
          disabled={off} label={`${t(TS.CopyButton)}: ${row}`}>{t(TS.CopyButton)}</Button>
      )}
      {hasRemove && (
        <Button id={buttonId(fieldPathId, 'remove')} className="rjsf-array-item-remove" kind="danger"
          onClick={onRemoveItem} disabled={off} label={`${t(TS.RemoveButton)}: ${row}`}>{t(TS.RemoveButton)}</Button>
      )}
    </>
  );
}

function ArrayFieldItemTemplate(props) {
  const { children, className, buttonsProps, hasToolbar, index, registry, schema } = props;
  const label = `${(schema && schema.title) || registry.translateString(TS.ArrayItemTitle)} ${index + 1}`;
  return (
    <div className={`tejun-array-item ${className || ''}`} role="group" aria-label={label}>
      <div className="tejun-array-item-head">
        <span className="tejun-array-item-number" aria-hidden="true">{label}</span>
        {hasToolbar && (
          <div className="tejun-array-item-toolbar"><ArrayFieldItemButtonsTemplate {...buttonsProps} /></div>
        )}
      </div>
      <div className="tejun-array-item-body">{children}</div>
    </div>
  );
}

// The default field template, plus aria-invalid on the field's control while it has errors (RJSF already
// points aria-describedby at the error list), and the label of a oneOf/anyOf field bound to its option select.
function FieldTemplate(props) {
  const { id, rawErrors, schema } = props;
  const invalid = Array.isArray(rawErrors) && rawErrors.length > 0;
  useEffect(() => {
    const control = document.getElementById(id);
    if (!control || !/^(INPUT|SELECT|TEXTAREA)$/.test(control.tagName)) return;
    if (invalid) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  });
  const Default = defaults.FieldTemplate;
  const chooser = schema && (schema.oneOf ? 'oneof' : schema.anyOf ? 'anyof' : null);
  if (chooser && schema.type !== 'string' && schema.type !== 'number' && schema.type !== 'integer') {
    return <Default {...props} id={`${id}__${chooser}_select`} />;
  }
  return <Default {...props} />;
}

// RJSF passes `label` through to the <input> as an attribute; the <label> element is what names it.
function BaseInputTemplate({ label, ...props }) {
  const Default = defaults.BaseInputTemplate;
  return <Default {...props} />;
}

function FieldErrorTemplate({ errors = [], fieldPathId }) {
  const list = errors.filter(Boolean);
  if (list.length === 0) return null;
  return (
    <ul id={`${fieldPathId.$id}__error`} className="error-detail tejun-field-errors">
      {list.map((error, i) => <li key={i}>{error}</li>)}
    </ul>
  );
}

/** '.members.0.email' -> 'root_members_0_email' (RJSF's default idPrefix and separator). */
export function fieldId(property) {
  return ['root', ...toPath(property || '')].join('_');
}

function fieldLabel(id) {
  const control = document.getElementById(id);
  const label = document.querySelector(`label[for="${CSS.escape(id)}"]`) || control?.closest('label');
  return label ? label.textContent.replace(/\s*\*$/, '').trim() : '';
}

// Error summary: "label: message" per error, each a link that moves the focus to its field.
function ErrorList({ errors, registry }) {
  return (
    <div className="tejun-error-summary" role="alert" tabIndex={-1}>
      <h2>{registry.translateString(TS.ErrorsLabel)}</h2>
      <ul>
        {errors.map((error, i) => {
          const id = fieldId(error.property);
          const label = error.title || fieldLabel(id);
          const text = error.message ? (label ? `${label}: ${error.message}` : error.message) : error.stack;
          const focus = (event) => {
            const target = document.getElementById(id);
            if (target) {
              event.preventDefault();
              target.focus();
            }
          };
          return (
            <li key={i}>{toPath(error.property || '').length ? <a href={`#${id}`} onClick={focus}>{text}</a> : text}</li>
          );
        })}
      </ul>
    </div>
  );
}

export const templates = {
  ButtonTemplates: {
    AddButton,
    CopyButton: textButton(TS.CopyButton),
    MoveUpButton: textButton(TS.MoveUpButton),
    MoveDownButton: textButton(TS.MoveDownButton),
    RemoveButton: textButton(TS.RemoveButton, 'danger'),
    ClearButton: textButton(TS.ClearButton),
  },
  ArrayFieldItemTemplate,
  ArrayFieldItemButtonsTemplate,
  FieldTemplate,
  FieldErrorTemplate,
  BaseInputTemplate,
  ErrorListTemplate: ErrorList,
};

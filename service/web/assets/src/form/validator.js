// An RJSF ValidatorType built on @cfworker/json-schema, which interprets schemas instead of compiling them
// to code: it runs under a Content-Security-Policy without 'unsafe-eval' (RJSF's usual @rjsf/validator-ajv8
// calls `new Function`).
//
//   validateFormData(formData, schema, customValidate?, transformErrors?, uiSchema?) -> {errors, errorSchema}
//   isValid(schema, formData, rootSchema) -> boolean   (RJSF uses it to pick oneOf/anyOf options and to
//                                                       evaluate if/then/else and dependencies)
//   rawValidation(schema, formData) -> {errors?: OutputUnit[], validationError?: Error}
//   reset()
import { dereference, validate } from '@cfworker/json-schema';
import {
  createErrorHandler,
  getDefaultFormState,
  getUiOptions,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
} from '@rjsf/utils';
import { validationMessage } from './i18n.js';

const ROOT_URI = 'https://tejun.invalid/form-schema.json';
const SUB_URI = 'https://tejun.invalid/sub-schema-';
const MAX_CACHE = 200;

// cfworker reports a "this subschema failed" unit before the errors of the subschema itself; only the latter
// say something useful next to a field.
const WRAPPERS = new Set([
  'properties', 'patternProperties', 'additionalProperties', 'unevaluatedProperties', 'propertyNames',
  'items', 'prefixItems', 'additionalItems', 'unevaluatedItems',
  '$ref', '$recursiveRef', 'allOf', 'if', 'dependentSchemas',
]);

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

// RJSF keeps `undefined` for empty fields; JSON Schema (and Ajv) treat them as absent.
const sanitize = (data) => (data === undefined ? null : clone(data));

export function draftOf(schema) {
  const uri = (schema && typeof schema === 'object' && schema.$schema) || '';
  if (uri.includes('draft-04')) return '4';
  if (uri.includes('draft-06') || uri.includes('draft-07')) return '7';
  if (uri.includes('2019-09')) return '2019-09';
  if (uri.includes('2020-12')) return '2020-12';
  return '7'; // RJSF's default meta-schema
}

// Makes same-document references ("#/$defs/x") of a sub-schema point into the root schema.
function prefixRefs(node, base) {
  if (Array.isArray(node)) return node.map((item) => prefixRefs(item, base));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' && value.startsWith('#')
      ? base + value
      : prefixRefs(value, base);
  }
  return out;
}

/** '#/members/0/e-mail' -> ['members', '0', 'e-mail'] (cfworker URI-encodes JSON pointer segments). */
export function pointerSegments(location) {
  const pointer = location.replace(/^#/, '');
  if (!pointer) return [];
  return pointer.split('/').slice(1).map((s) => {
    let decoded = s;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      /* keep as is */
    }
    return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

function at(value, segments) {
  let node = value;
  for (const s of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[s];
  }
  return node;
}

class Compiled {
  constructor(schema) {
    this.schema = clone(schema);
    if (this.schema && typeof this.schema === 'object' && !this.schema.$id) this.schema.$id = ROOT_URI;
    this.draft = draftOf(this.schema);
    this.lookup = dereference(this.schema);
    this.base = (this.schema && this.schema.__absolute_uri__) || ROOT_URI;
    this.subs = new Map();
  }

  // The schema node addressed by a cfworker keywordLocation (following $ref like cfworker does).
  schemaAt(segments) {
    let node = this.schema;
    for (const s of segments) {
      if (node === null || typeof node !== 'object') return undefined;
      node = s === '$ref' ? this.lookup[node.__absolute_ref__ || node.$ref] : node[s];
    }
    return node;
  }

  sub(schema) {
    const key = JSON.stringify(schema);
    let entry = this.subs.get(key);
    if (!entry) {
      if (this.subs.size >= MAX_CACHE) this.subs.clear();
      const sub = prefixRefs(clone(schema), this.base);
      if (sub && typeof sub === 'object') delete sub.$id; // the root is already known by its $id
      const lookup = Object.create(this.lookup); // reads fall through to the root's entries
      dereference(sub, lookup, new URL(SUB_URI + this.subs.size));
      entry = { schema: sub, lookup };
      this.subs.set(key, entry);
    }
    return entry;
  }
}

// Of a failed oneOf/anyOf, keep only the errors of the alternative that came closest (a wrong const or
// enum value, or a wrong type of the whole value, counts as "not this one"), so the user is not told to fill in fields
// of options they did not choose.
function pruneAlternatives(units) {
  const dropped = new Set();
  units.forEach((unit, i) => {
    if (dropped.has(i) || (unit.keyword !== 'oneOf' && unit.keyword !== 'anyOf')) return;
    const weight = (u) => {
      if (WRAPPERS.has(u.keyword)) return 0;
      if (['const', 'enum', 'false'].includes(u.keyword)) return 100;
      if (u.keyword === 'type' && u.instanceLocation === unit.instanceLocation) return 100;
      return 1;
    };
    const prefix = `${unit.keywordLocation}/`;
    const branches = new Map();
    units.forEach((other, j) => {
      if (j === i || dropped.has(j) || !other.keywordLocation.startsWith(prefix)) return;
      const branch = other.keywordLocation.slice(prefix.length).split('/')[0];
      if (!branches.has(branch)) branches.set(branch, []);
      branches.get(branch).push(j);
    });
    const tooManyMatches = /\(([1-9]\d*) matches\)/.test(unit.error);
    let best = null;
    let bestScore = Infinity;
    for (const indexes of branches.values()) {
      const score = indexes.reduce((sum, j) => sum + weight(units[j]), 0);
      if (score < bestScore) [best, bestScore] = [indexes, score];
    }
    for (const indexes of branches.values()) {
      if (indexes !== best || tooManyMatches) indexes.forEach((j) => dropped.add(j));
    }
    // The summary unit only helps when no detailed error is left to show.
    if (best && !tooManyMatches && bestScore > 0 && bestScore < 100) dropped.add(i);
  });
  return units.filter((_, i) => !dropped.has(i));
}

function uiTitleAt(uiSchema, segments) {
  let node = uiSchema;
  for (const s of segments) {
    if (!node || typeof node !== 'object') return undefined;
    node = /^\d+$/.test(s) ? node.items : node[s];
  }
  return node && typeof node === 'object' ? getUiOptions(node).title : undefined;
}

export default class CfWorkerValidator {
  /** @param {{lang?: string}} [options] lang: 'ja' (default) or 'en', for the error messages */
  constructor(options = {}) {
    this.lang = options.lang || 'ja';
    this.reset();
  }

  reset() {
    this.byObject = new WeakMap();
    this.byText = new Map();
  }

  compile(schema) {
    if (schema && typeof schema === 'object') {
      const known = this.byObject.get(schema);
      if (known) return known;
    }
    const key = JSON.stringify(schema);
    let compiled = this.byText.get(key);
    if (!compiled) {
      if (this.byText.size >= 20) this.byText.clear();
      compiled = new Compiled(schema);
      this.byText.set(key, compiled);
    }
    if (schema && typeof schema === 'object') this.byObject.set(schema, compiled);
    return compiled;
  }

  isValid(schema, formData, rootSchema) {
    try {
      const root = this.compile(rootSchema || schema);
      const sub = root.sub(schema);
      return validate(sanitize(formData), sub.schema, root.draft, sub.lookup, true).valid;
    } catch (error) {
      console.warn('tejun-form: cannot validate against schema', error);
      return false;
    }
  }

  rawValidation(schema, formData) {
    try {
      const root = this.compile(schema);
      return { errors: validate(sanitize(formData), root.schema, root.draft, root.lookup, false).errors };
    } catch (error) {
      return { validationError: error };
    }
  }

  /** cfworker output units -> RJSFValidationError[] (property '.members.0.email', localized message). */
  toRJSFErrors(units, schema, formData, uiSchema) {
    const root = this.compile(schema);
    const data = sanitize(formData);
    return pruneAlternatives(units)
      .filter((u) => !WRAPPERS.has(u.keyword) && !(u.keyword === 'dependencies' && /dependant schema/.test(u.error)))
      .map((u) => {
        const path = pointerSegments(u.instanceLocation);
        const schemaPath = pointerSegments(u.keywordLocation);
        const parent = root.schemaAt(schemaPath.slice(0, -1)) || {};
        const params = {};
        let fieldPath = path;
        let fieldSchema = parent;
        if (u.keyword === 'required') {
          params.missingProperty = /required property "(.*)"\.$/.exec(u.error)?.[1];
        } else if (u.keyword === 'dependencies' || u.keyword === 'dependentRequired') {
          params.missingProperty = /but does not have "(.*)"\.$/.exec(u.error)?.[1];
          params.property = /^Instance has "(.*?)"/.exec(u.error)?.[1];
        }
        if (params.missingProperty !== undefined) {
          fieldPath = [...path, params.missingProperty];
          fieldSchema = parent.properties?.[params.missingProperty] || {};
        }
        const value = params.missingProperty !== undefined ? undefined : at(data, path);
        const message = validationMessage(this.lang, u.keyword, {
          limit: parent[u.keyword],
          parent,
          field: fieldSchema,
          value,
          original: u.error,
        });
        const title = uiTitleAt(uiSchema, fieldPath) || fieldSchema.title || '';
        const property = fieldPath.length ? `.${fieldPath.join('.')}` : '';
        return {
          name: u.keyword,
          property,
          message,
          params,
          stack: title ? `${title}: ${message}` : message,
          schemaPath: u.keywordLocation,
          title,
        };
      })
      .filter((e, i, all) => all.findIndex((o) => o.property === e.property && o.message === e.message) === i);
  }

  validateFormData(formData, schema, customValidate, transformErrors, uiSchema) {
    const raw = this.rawValidation(schema, formData);
    let errors = raw.errors ? this.toRJSFErrors(raw.errors, schema, formData, uiSchema) : [];
    if (raw.validationError) errors.push({ stack: raw.validationError.message });
    if (typeof transformErrors === 'function') errors = transformErrors(errors, uiSchema);
    let errorSchema = toErrorSchema(errors);
    if (raw.validationError) {
      errorSchema = { ...errorSchema, $schema: { __errors: [raw.validationError.message] } };
    }
    if (typeof customValidate !== 'function') return { errors, errorSchema };
    const newFormData = getDefaultFormState(this, schema, formData, schema, true);
    const handler = customValidate(newFormData, createErrorHandler(newFormData), uiSchema, errorSchema);
    return validationDataMerge({ errors, errorSchema }, unwrapErrorHandler(handler));
  }
}

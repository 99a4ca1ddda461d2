// node --test: the CSP-safe RJSF validator against RJSF's own schema utilities.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSchemaUtils } from '@rjsf/utils';
import CfWorkerValidator from '../src/form/validator.js';

const person = {
  type: 'object',
  properties: { name: { type: 'string', title: '氏名', minLength: 1 }, email: { type: 'string', format: 'email' } },
  required: ['name', 'email'],
};

test('validateFormData: nested array errors land on the right field, in Japanese', () => {
  const v = new CfWorkerValidator({ lang: 'ja' });
  const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object',
    properties: { members: { type: 'array', items: { $ref: '#/$defs/person' }, minItems: 1 } },
    required: ['members'], $defs: { person } };
  const { errors, errorSchema } = v.validateFormData({ members: [{ name: '山田', email: 'x' }, { email: undefined }] }, schema);
  assert.deepEqual(errorSchema.members[0].email.__errors, ['メールアドレスの形式で入力してください。']);
  assert.deepEqual(errorSchema.members[1].name.__errors, ['入力してください。']);
  assert.deepEqual(errorSchema.members[1].email.__errors, ['入力してください。']);
  assert.equal(errors.find((e) => e.property === '.members.1.name').stack, '氏名: 入力してください。');
  assert.deepEqual(v.validateFormData({ members: [{ name: 'a', email: 'a@example.jp' }] }, schema).errors, []);
});

test('English messages and uiSchema titles', () => {
  const v = new CfWorkerValidator({ lang: 'en' });
  const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 3 } } };
  const { errors } = v.validateFormData({ n: 1 }, schema, undefined, undefined, { n: { 'ui:title': 'Count' } });
  assert.equal(errors[0].message, 'Enter 3 or more.');
  assert.equal(errors[0].stack, 'Count: Enter 3 or more.');
});

test('oneOf / anyOf option selection through RJSF schema utils', () => {
  const v = new CfWorkerValidator();
  const root = { type: 'object', properties: { contact: { oneOf: [
    { title: 'phone', type: 'object', properties: { kind: { const: 'phone' }, phone: { type: 'string' } }, required: ['kind'] },
    { title: 'mail', type: 'object', properties: { kind: { const: 'mail' }, email: { type: 'string' } }, required: ['kind'] },
  ] }, any: { anyOf: [{ $ref: '#/$defs/num' }, { type: 'string', pattern: '^x' }] } }, $defs: { num: { type: 'number' } } };
  const utils = createSchemaUtils(v, root);
  const options = root.properties.contact.oneOf;
  assert.equal(utils.getFirstMatchingOption({ kind: 'mail', email: 'a' }, options), 1);
  assert.equal(utils.getFirstMatchingOption({ kind: 'phone' }, options), 0);
  assert.equal(v.isValid(root.properties.any, 5, root), true); // $ref into the root schema
  assert.equal(v.isValid(root.properties.any, 'y', root), false);
  // Only the chosen alternative's errors are reported.
  const { errorSchema } = v.validateFormData({ contact: { kind: 'mail', email: 3 } }, root);
  assert.deepEqual(Object.keys(errorSchema.contact), ['email']);
});

test('dependencies and if/then/else are resolved with isValid', () => {
  const v = new CfWorkerValidator();
  const root = { type: 'object', properties: { foreign: { type: 'boolean' } },
    dependencies: { foreign: { oneOf: [
      { properties: { foreign: { const: false } } },
      { properties: { foreign: { const: true }, country: { type: 'string' } }, required: ['country'] },
    ] } } };
  const utils = createSchemaUtils(v, root);
  assert.ok(utils.retrieveSchema(root, { foreign: true }).properties.country);
  assert.ok(!utils.retrieveSchema(root, { foreign: false }).properties.country);
  const cond = { type: 'object', properties: { a: { type: 'string' } },
    if: { properties: { a: { const: 'x' } } }, then: { properties: { b: { type: 'string' } }, required: ['b'] } };
  const u2 = createSchemaUtils(v, cond);
  assert.ok(u2.retrieveSchema(cond, { a: 'x' }).properties.b);
  assert.ok(!u2.retrieveSchema(cond, { a: 'y' }).properties.b);
  assert.deepEqual(v.validateFormData({ a: 'x' }, cond).errorSchema, { b: { __errors: ['入力してください。'] } });
});

test('draft-07 definitions, broken schemas do not throw', () => {
  const v = new CfWorkerValidator();
  const root = { $schema: 'http://json-schema.org/draft-07/schema#', definitions: { s: { type: 'string' } },
    type: 'object', properties: { s: { $ref: '#/definitions/s' } } };
  assert.equal(v.validateFormData({ s: 1 }, root).errors[0].property, '.s');
  assert.equal(v.isValid({ $ref: '#/nowhere' }, 1, root), false);
  const broken = v.validateFormData({}, { $ref: '#/nowhere' });
  assert.ok(broken.errors.length === 1 && broken.errorSchema.$schema);
});

// The shipped forms (forms/*.schema.json): a decision's own fields appear, and are required, only once it is
// chosen; what was typed into another decision's fields is not sent; declarations start unticked.
const FORMS = new URL('../../../../forms/', import.meta.url);
const { readFileSync } = await import('node:fs');
const form = (name) => JSON.parse(readFileSync(new URL(name, FORMS), 'utf8'));

test('fa_review: each decision shows its own fields, accepting needs none of them', () => {
  const v = new CfWorkerValidator({ lang: 'ja' });
  const root = form('fa_review.schema.json');
  const utils = createSchemaUtils(v, root);
  const review = (data) => utils.retrieveSchema(root.properties.fa_review, data);
  const shown = (decision) => Object.keys(review(decision ? { decision } : {}).properties).sort();
  assert.deepEqual(shown(undefined), ['comments', 'decision']);
  assert.deepEqual(shown('accept'), ['comments', 'conditions', 'decision']);
  assert.deepEqual(shown('request_additional_mitigation'),
    ['comments', 'decision', 'requested_measures', 'response_due_date']);
  assert.deepEqual(shown('not_accept'), ['comments', 'decision', 'reasons']);
  // RJSF's own defaults add no measure row to "accept"
  assert.deepEqual(utils.getDefaultFormState(root, { fa_review: { decision: 'accept' } }),
    { fa_review: { decision: 'accept' } });
  assert.deepEqual(v.validateFormData({ fa_review: { decision: 'accept' } }, root).errors, []);
  const missing = v.validateFormData({ fa_review: { decision: 'request_additional_mitigation' } }, root);
  assert.deepEqual(missing.errorSchema.fa_review.requested_measures.__errors, ['入力してください。']);
  const asking = { fa_review: { decision: 'request_additional_mitigation', requested_measures: [{}] } };
  const { errorSchema } = v.validateFormData(asking, root);
  assert.deepEqual(errorSchema.fa_review.requested_measures[0].detail.__errors, ['入力してください。']);
  // a row left behind by an earlier choice is not sent with "accept"
  const switched = { fa_review: { ...asking.fa_review, decision: 'accept' } };
  assert.deepEqual(utils.omitExtraData(root, switched), { fa_review: { decision: 'accept' } });
});

test('declarations start unticked and a missing tick is explained', () => {
  for (const lang of ['ja', 'en']) {
    const v = new CfWorkerValidator({ lang });
    const root = form('disclosure.schema.json');
    const utils = createSchemaUtils(v, root);
    const certification = utils.getDefaultFormState(root.properties.disclosure.properties.certification, {});
    assert.notEqual(certification.consent, true); // RJSF starts a required boolean at false: unticked
    assert.notEqual(certification.certified, true);
    const data = { disclosure: { certification: { certified: false, certification_date: '2026-04-01' } } };
    const { errorSchema } = v.validateFormData(data, root);
    // an unticked box stays unticked when something else changes (RJSF replaces values outside one-value enums)
    const cert = root.properties.disclosure.properties.certification;
    const after = utils.sanitizeDataForNewSchema(cert, cert, { consent: false, certified: false });
    assert.deepEqual([after.consent, after.certified], [false, false]);
    const expected = lang === 'ja' ? '内容を確認して、チェックを入れてください。' : 'Please confirm by ticking this box.';
    assert.deepEqual(errorSchema.disclosure.certification.consent.__errors, [expected]);
    assert.deepEqual(errorSchema.disclosure.certification.certified.__errors, [expected]);
  }
});

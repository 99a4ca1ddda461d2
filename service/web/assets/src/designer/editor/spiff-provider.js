// A properties-panel group "tejun" for what tejun's conventions (docs/modeling.md) put into a diagram:
// user-task forms and properties (spiffworkflow:properties), script tasks, pre/post scripts, conditions on
// sequence flows, decision ids of business-rule tasks, called processes, and lanes named after roles.
// Texts and choices come from the Modeler's `tejun` config (the page gives them, translated by the server).
import { h } from '@bpmn-io/properties-panel/preact';
import {
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited, Group, SelectEntry, TextAreaEntry,
  TextFieldEntry,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

const LOW_PRIORITY = 400;

// -- reading and writing the model ------------------------------------------------------------------

function extensionValues(bo) {
  const ext = bo.get('extensionElements');
  return (ext && ext.get('values')) || [];
}

export function spiffProperty(bo, name) {
  const holder = extensionValues(bo).find((v) => is(v, 'spiffworkflow:Properties'));
  const found = holder && holder.get('properties').find((p) => p.name === name);
  return found ? found.value || '' : '';
}

function extensionText(bo, type) {
  const found = extensionValues(bo).find((v) => is(v, type));
  return found ? found.value || '' : '';
}

const update = (element, moddleElement, properties) => ({
  cmd: 'element.updateModdleProperties',
  context: { element, moddleElement, properties },
});

// The commands that make sure `bo` has extensionElements; returns [extensionElements, commands].
function ensureExtensions(element, bo, bpmnFactory) {
  let ext = bo.get('extensionElements');
  if (ext) return [ext, []];
  ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
  ext.$parent = bo;
  return [ext, [update(element, bo, { extensionElements: ext })]];
}

function setSpiffProperty(element, name, value, bpmnFactory, commandStack) {
  const bo = getBusinessObject(element);
  const [ext, commands] = ensureExtensions(element, bo, bpmnFactory);
  let holder = ext.get('values').find((v) => is(v, 'spiffworkflow:Properties'));
  if (!holder) {
    if (!value) return;
    holder = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    holder.$parent = ext;
    commands.push(update(element, ext, { values: [...ext.get('values'), holder] }));
  }
  const existing = holder.get('properties').find((p) => p.name === name);
  if (!value) {
    if (existing) commands.push(update(element, holder, { properties: holder.get('properties').filter((p) => p !== existing) }));
  } else if (existing) {
    commands.push(update(element, existing, { value }));
  } else {
    const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
    created.$parent = holder;
    commands.push(update(element, holder, { properties: [...holder.get('properties'), created] }));
  }
  if (commands.length) commandStack.execute('properties-panel.multi-command-executor', commands);
}

function setExtensionText(element, type, value, bpmnFactory, commandStack) {
  const bo = getBusinessObject(element);
  const [ext, commands] = ensureExtensions(element, bo, bpmnFactory);
  const existing = ext.get('values').find((v) => is(v, type));
  if (!value) {
    if (existing) commands.push(update(element, ext, { values: ext.get('values').filter((v) => v !== existing) }));
  } else if (existing) {
    commands.push(update(element, existing, { value }));
  } else {
    const created = bpmnFactory.create(type, { value });
    created.$parent = ext;
    commands.push(update(element, ext, { values: [...ext.get('values'), created] }));
  }
  if (commands.length) commandStack.execute('properties-panel.multi-command-executor', commands);
}

// -- entries ----------------------------------------------------------------------------------------

function useTejun() {
  return useService('config').tejun;
}

function PropertySelect({ element, id, name, label, options }) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const tejun = useTejun();
  return h(SelectEntry, {
    element, id, label,
    getValue: () => spiffProperty(getBusinessObject(element), name),
    setValue: (value) => setSpiffProperty(element, name, value, bpmnFactory, commandStack),
    getOptions: () => {
      const current = spiffProperty(getBusinessObject(element), name);
      const values = options();
      const all = current && !values.includes(current) ? [current, ...values] : values;
      return [{ value: '', label: tejun.texts.none }, ...all.map((v) => ({ value: v, label: tejun.label(name, v) }))];
    },
  });
}

function PropertyText({ element, id, name, label }) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, label, debounce,
    getValue: () => spiffProperty(getBusinessObject(element), name),
    setValue: (value) => setSpiffProperty(element, name, (value || '').trim(), bpmnFactory, commandStack),
  });
}

function ExtensionTextArea({ element, id, type, label, rows = 4 }) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  return h(TextAreaEntry, {
    element, id, label, debounce, rows, monospace: true,
    getValue: () => extensionText(getBusinessObject(element), type),
    setValue: (value) => setExtensionText(element, type, value || '', bpmnFactory, commandStack),
  });
}

function ExtensionText({ element, id, type, label }) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, label, debounce,
    getValue: () => extensionText(getBusinessObject(element), type),
    setValue: (value) => setExtensionText(element, type, (value || '').trim(), bpmnFactory, commandStack),
  });
}

function ScriptBody({ element, id, label }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return h(TextAreaEntry, {
    element, id, label, debounce, rows: 5, monospace: true,
    getValue: () => getBusinessObject(element).get('script') || '',
    setValue: (value) => modeling.updateProperties(element, { script: value || undefined, scriptFormat: 'python' }),
  });
}

function Condition({ element, id, label }) {
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, label, debounce,
    getValue: () => {
      const expression = getBusinessObject(element).get('conditionExpression');
      return (expression && expression.get('body')) || '';
    },
    setValue: (value) => {
      const text = (value || '').trim();
      const expression = text ? bpmnFactory.create('bpmn:FormalExpression', { body: text }) : undefined;
      modeling.updateProperties(element, { conditionExpression: expression });
    },
  });
}

function CalledElement({ element, id, label }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, label, debounce,
    getValue: () => getBusinessObject(element).get('calledElement') || '',
    setValue: (value) => modeling.updateProperties(element, { calledElement: (value || '').trim() || undefined }),
  });
}

// A lane's name is `role` or `role@scope` (docs/modeling.md, "Lanes").
function splitLane(name) {
  const [role, scope] = String(name || '').split('@', 2);
  return { role: role.trim(), scope: (scope || '').trim() };
}

function LaneRole({ element, id, label }) {
  const modeling = useService('modeling');
  const tejun = useTejun();
  return h(SelectEntry, {
    element, id, label,
    getValue: () => splitLane(getBusinessObject(element).name).role,
    setValue: (role) => {
      const { scope } = splitLane(getBusinessObject(element).name);
      modeling.updateProperties(element, { name: role ? (scope ? `${role}@${scope}` : role) : '' });
    },
    getOptions: () => {
      const { role } = splitLane(getBusinessObject(element).name);
      const options = tejun.roles.map((r) => ({ value: r, label: tejun.label('role', r) }));
      if (role && !tejun.roles.includes(role)) options.unshift({ value: role, label: `${role} (${tejun.texts.laneUnknown})` });
      return [{ value: '', label: tejun.texts.none }, ...options];
    },
  });
}

function LaneScope({ element, id, label }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const tejun = useTejun();
  return h(TextFieldEntry, {
    element, id, label, debounce, description: tejun.texts.scopeHint,
    getValue: () => splitLane(getBusinessObject(element).name).scope,
    setValue: (value) => {
      const { role } = splitLane(getBusinessObject(element).name);
      const scope = (value || '').trim();
      modeling.updateProperties(element, { name: scope ? `${role}@${scope}` : role });
    },
  });
}

// -- the group --------------------------------------------------------------------------------------

function entries(element, tejun) {
  const t = tejun.texts;
  const list = [];
  // the panel renders each entry as h(entry.component, {...entry, element}): components stay the same
  // functions across renders (so an input keeps the focus while typing), the rest are their props
  const add = (id, component, props, isEdited = isTextFieldEntryEdited) =>
    list.push({ id, component, isEdited, ...props });
  const forms = (suffix) => () => tejun.forms().filter((n) => n.endsWith(suffix) && (suffix !== '.schema.json' || !n.endsWith('.uischema.json')));

  if (is(element, 'bpmn:UserTask')) {
    add('tejun-form', PropertySelect, { name: 'formJsonSchemaFilename', label: t.form, options: forms('.schema.json') }, isSelectEntryEdited);
    add('tejun-uiform', PropertySelect, { name: 'formUiSchemaFilename', label: t.uiForm, options: forms('.uischema.json') }, isSelectEntryEdited);
    add('tejun-stage', PropertySelect, { name: 'stage', label: t.stage, options: () => tejun.stages }, isSelectEntryEdited);
    add('tejun-assignee', PropertyText, { name: 'assignee', label: t.assignee });
    add('tejun-due', PropertyText, { name: 'dueDate', label: t.dueDate });
    add('tejun-priority', PropertySelect, { name: 'priority', label: t.priority, options: () => tejun.priorities }, isSelectEntryEdited);
    add('tejun-instructions', ExtensionTextArea, { type: 'spiffworkflow:InstructionsForEndUser', label: t.instructions, rows: 3 }, isTextAreaEntryEdited);
  }
  if (is(element, 'bpmn:ScriptTask')) add('tejun-script', ScriptBody, { label: t.script }, isTextAreaEntryEdited);
  if (is(element, 'bpmn:BusinessRuleTask')) add('tejun-decision', ExtensionText, { type: 'spiffworkflow:CalledDecisionId', label: t.calledDecision });
  if (is(element, 'bpmn:CallActivity')) add('tejun-called', CalledElement, { label: t.calledElement });
  if (is(element, 'bpmn:Activity')) {
    add('tejun-prescript', ExtensionTextArea, { type: 'spiffworkflow:PreScript', label: t.preScript }, isTextAreaEntryEdited);
    add('tejun-postscript', ExtensionTextArea, { type: 'spiffworkflow:PostScript', label: t.postScript }, isTextAreaEntryEdited);
  }
  if (is(element, 'bpmn:SequenceFlow')) {
    const source = element.source && getBusinessObject(element.source);
    const isDefault = source && source.get('default') === getBusinessObject(element);
    if (!isDefault && source && isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:Activity'])) {
      add('tejun-condition', Condition, { label: t.condition });
    }
  }
  if (is(element, 'bpmn:Lane')) {
    add('tejun-lane-role', LaneRole, { label: t.laneRole }, isSelectEntryEdited);
    add('tejun-lane-scope', LaneScope, { label: t.laneScope });
  }
  return list;
}

export default function TejunPropertiesProvider(propertiesPanel, config) {
  const tejun = config.tejun;
  this.getGroups = (element) => (groups) => {
    const list = entries(element, tejun);
    if (list.length) {
      // right after "General", so the properties tejun runs on are seen first
      const at = Math.min(1, groups.length);
      groups.splice(at, 0, { id: 'tejun', label: tejun.texts.spiff, component: Group, entries: list });
    }
    return groups;
  };
  propertiesPanel.registerProvider(LOW_PRIORITY, this);
}
TejunPropertiesProvider.$inject = ['propertiesPanel', 'config'];

export const TejunPropertiesModule = {
  __init__: ['tejunPropertiesProvider'],
  tejunPropertiesProvider: ['type', TejunPropertiesProvider],
};

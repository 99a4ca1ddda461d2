// The spiffworkflow extension namespace as a moddle package, so bpmn-js reads, edits and writes what
// SpiffWorkflow 3.2's parser (SpiffWorkflow/spiff/parser) and tejun's conventions (docs/modeling.md) use.
// Every element of the namespace must be declared: moddle drops an element of a declared namespace whose type
// it does not know (the editor refuses to save such a file, see bpmn.js).
const URI = 'http://spiffworkflow.org/bpmn/schema/1.0/core';

// An element whose whole content is its text: <spiffworkflow:preScript>x = 1</spiffworkflow:preScript>
const textElement = (name) => ({
  name,
  superClass: ['Element'],
  properties: [{ name: 'value', type: 'String', isBody: true }],
});

const attr = (name, type = 'String') => ({ name, type, isAttr: true });

export default {
  name: 'SpiffWorkflow',
  prefix: 'spiffworkflow',
  uri: URI,
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    // user-task properties: formJsonSchemaFilename, formUiSchemaFilename, stage, assignee, dueDate, priority
    { name: 'Properties', superClass: ['Element'], properties: [{ name: 'properties', type: 'Property', isMany: true }] },
    { name: 'Property', superClass: ['Element'], properties: [attr('name'), attr('value')] },
    textElement('PreScript'),
    textElement('PostScript'),
    textElement('CalledDecisionId'),
    textElement('InstructionsForEndUser'),
    textElement('MessagePayload'),
    textElement('MessageVariable'),
    textElement('PayloadExpression'),
    textElement('VariableName'),
    textElement('Category'),
    textElement('Expression'),
    textElement('PropertyId'),
    textElement('InputJson'),
    textElement('ExpectedOutputJson'),
    {
      name: 'ProcessVariableCorrelation',
      superClass: ['Element'],
      properties: [
        { name: 'propertyId', type: 'PropertyId' },
        { name: 'expression', type: 'Expression' },
      ],
    },
    { name: 'UnitTests', superClass: ['Element'], properties: [{ name: 'unitTests', type: 'UnitTest', isMany: true }] },
    {
      name: 'UnitTest',
      superClass: ['Element'],
      properties: [
        attr('id'),
        { name: 'inputJson', type: 'InputJson' },
        { name: 'expectedOutputJson', type: 'ExpectedOutputJson' },
      ],
    },
    {
      name: 'ServiceTaskOperator',
      superClass: ['Element'],
      properties: [
        attr('id'),
        attr('resultVariable'),
        { name: 'parameterList', type: 'Parameters' },
        { name: 'retry', type: 'Retry' },
      ],
    },
    { name: 'Parameters', superClass: ['Element'], properties: [{ name: 'parameters', type: 'Parameter', isMany: true }] },
    { name: 'Parameter', superClass: ['Element'], properties: [attr('id'), attr('type'), attr('value')] },
    { name: 'Retry', superClass: ['Element'], properties: [attr('retries'), attr('backoff_base')] },
    {
      name: 'TaskMetadataValues',
      superClass: ['Element'],
      properties: [{ name: 'values', type: 'TaskMetadataValue', isMany: true }],
    },
    { name: 'TaskMetadataValue', superClass: ['Element'], properties: [attr('name'), attr('value')] },
    {
      name: 'MatchingCorrelation',
      extends: ['bpmn:ReceiveTask', 'bpmn:IntermediateCatchEvent', 'bpmn:StartEvent', 'bpmn:BoundaryEvent'],
      properties: [attr('isMatchingCorrelation', 'Boolean')],
    },
    { name: 'OutputSync', extends: ['bpmn:SubProcess'], properties: [attr('isOutputSynced', 'Boolean')] },
    {
      name: 'MultiInstanceScripts',
      extends: ['bpmn:MultiInstanceLoopCharacteristics'],
      properties: [attr('scriptsOnInstances', 'Boolean')],
    },
  ],
};

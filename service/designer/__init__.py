"""Model versions: validating, storing and publishing sets of BPMN, DMN and form files."""

"""The BPMN engine adapter: the only package that imports SpiffWorkflow."""

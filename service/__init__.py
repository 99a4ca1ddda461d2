"""tejun: research-security case management run as BPMN."""

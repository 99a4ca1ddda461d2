"""Task forms: JSON Schema checking, validation of submitted data, languages and reference lists."""

"""The quality gate: checks the audit marts must pass before anything is published."""

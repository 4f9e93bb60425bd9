"""The plan review's rules, one module per kind of risk (review/plan_risks.py collects them)."""

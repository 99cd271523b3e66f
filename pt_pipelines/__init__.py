"""Library code behind the steps in scripts/: readers and converters, file and text helpers, records, scoring,
vectors and pretraining, and the Ray backend. Steps import from here; nothing here runs a step.

Keep this file free of code: every step imports it, and project.yml does not list it in deps.
"""

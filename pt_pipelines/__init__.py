"""Library code behind the steps in scripts/; nothing here runs a step. Keep this file free of code: every step
imports it, and project.yml does not list it in deps.
"""

"""The steps project.yml runs, each `python -m scripts.<name>`: a keyword-only core function and a typer main."""

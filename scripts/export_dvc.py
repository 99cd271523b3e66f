"""Write a DVC 3 pipeline (dvc.yaml) from a project.yml workflow. `spacy project dvc` generates dvc.yaml by calling
`dvc run`, which DVC 3.0 removed; this writes the same stages directly, so it needs no DVC install. Each stage runs the
weasel command; deps and outputs are the command's, and `outputs_no_cache` become outputs with `cache: false`.
"""

from pathlib import Path
from typing import Any, Optional

import srsly
import typer
from weasel.util import load_project_config

from pt_pipelines.files import write_text

HEADER = "# Generated from project.yml by scripts/export_dvc.py; edit project.yml and export again.\n"


def dvc_stages(project_dir: Path, workflow: Optional[str] = None) -> dict[str, Any]:
    """The dvc.yaml content for a workflow (the first one by default)."""
    config = load_project_config(project_dir)
    workflows = config.get("workflows", {})
    name = workflow or next(iter(workflows))
    if name not in workflows:
        raise typer.BadParameter(f"no workflow {name!r} in project.yml: choose one of {', '.join(workflows)}")
    commands = {c["name"]: c for c in config["commands"]}
    stages: dict[str, Any] = {}
    for step in workflows[name]:
        cmd = commands[step]
        outs: list[Any] = list(dict.fromkeys(cmd.get("outputs", [])))
        outs += [{path: {"cache": False}} for path in dict.fromkeys(cmd.get("outputs_no_cache", []))]
        fields = {"deps": list(dict.fromkeys(cmd.get("deps", []))), "outs": outs, "desc": cmd.get("help")}
        stages[step] = {"cmd": f"python -m weasel run {step} .", **{k: v for k, v in fields.items() if v}}
    return {"stages": stages}


def main(project_dir: Path = typer.Option(Path("."), help="Project folder with project.yml"),
        workflow: Optional[str] = typer.Option(None, help="Workflow to export (default: the first, 'all')"),
        output: Path = typer.Option(Path("dvc.yaml"), help="Where to write the DVC pipeline")) -> None:
    """Export a workflow as a DVC pipeline: then `dvc repro` runs it."""
    write_text(output, HEADER + srsly.yaml_dumps(dvc_stages(project_dir, workflow), sort_keys=False))
    typer.echo(f"✔ {output}: run it with `dvc repro` (needs `pip install dvc` and `dvc init`)")


if __name__ == "__main__":
    typer.run(main)

"""The front door stays consistent: README's commands are CI's, versions agree, CFF is complete."""

import re
from pathlib import Path

import yaml

import geodl

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them():
    install, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), "CI must run README's test command verbatim"
    for step in install.split(" && ")[1:]:  # the venv is created by CI's own line
        assert step in ci, f"CI does not run README's install step {step!r}"


def test_citation_cff_is_complete_and_matches_the_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("title", "authors", "version", "license", "repository-code",
                "preferred-citation"):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    assert cff["version"] == geodl.__version__ == cff["preferred-citation"]["version"]

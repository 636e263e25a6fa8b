"""The README is a front door and the manuals in docs/ stay true to the code.

- the README is short, links every manual, and every relative link in README.md and docs/*.md
  resolves (a file that exists, and a heading that exists for a ``#anchor`` into a Markdown file);
- the README's map of the folders names every folder of the package (each a package whose
  ``__init__.py`` says in its docstring what belongs there) and every top-level folder, and no
  folder or file that does not exist;
- the README's two commands are the scripts that set up and run the dashboard and the test suite,
  and ``.ci/run`` runs the README's test command;
- every ``python -m stls COMMAND --option`` written down exists in the real parser (``stls.cli``),
  and every command and option the parser has is written down somewhere;
- every path such as ``stls/...``, ``tests/...``, ``bench/...`` or ``app_pages/...`` written
  down exists (or is a file the checkout makes and ignores, such as ``data/stls.duckdb``);
- every kind of file the importer takes is in docs/loading-files.md with its required columns.

Each check is a function returning its problems, run on the real files and, once each, on a
deliberately broken input, so none of them can pass by finding nothing to check.
"""
from __future__ import annotations

import argparse
import ast
import fnmatch
import inspect
import re
import shlex
from pathlib import Path

import pytest

from stls import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 150
PATH_ROOTS = ("stls", "tests", "bench", "app_pages", "scripts", "docs", "data", ".ci",
              "pages")   # the pages' old folder (now app_pages/): any path into it is stale
PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(re.escape(r) for r in PATH_ROOTS) + r")/[\w./-]*)(::\w+)?")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
COMMAND = re.compile(r"python -m stls[ \t]+([a-z][\w-]*)([^`\n]*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][\w.-]*)")
SERVE = "serve"   # handed to Streamlit by stls.cli.main before the parser is built


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _documents() -> dict[Path, str]:
    return {path: _text(path) for path in [README, *sorted(DOCS.glob("*.md"))]}


def _without_code(text: str) -> str:
    """The Markdown outside fenced blocks and inline code spans."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section (to the next heading of level 2 or above)."""
    match = re.search(rf"^## {re.escape(heading)}[ \t]*\n(.*?)(?=^#{{1,2}} |\Z)", text, flags=re.S | re.M)
    assert match, f"README.md has no '## {heading}' section"
    return match.group(1)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"[`*_]{1,2}(?=\S)|(?<=\S)[`*_]{1,2}", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = _slug(match.group(1))
            found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    return found


def _ignored(relative: str) -> bool:
    """Whether the checkout's .gitignore covers a path (files the checkout makes: data/stls.duckdb)."""
    patterns = [p.strip() for p in _text(ROOT / ".gitignore").splitlines() if p.strip() and not p.startswith("#")]
    relative = relative.rstrip("/")
    for pattern in (p.rstrip("/").lstrip("/") for p in patterns):
        if fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/"):
            return True
    return False


# ---- the checks, each returning its problems ------------------------------------------------------

def link_problems(path: Path, text: str) -> list[str]:
    problems = []
    for target in LINK.findall(_without_code(text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):   # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.name}: [..]({target})"
        if ROOT not in resolved.parents and resolved != ROOT:
            problems.append(f"{where} leaves the repository")
        elif not resolved.exists():
            problems.append(f"{where}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(_text(resolved)):
            problems.append(f"{where}: no heading with that anchor in {resolved.name}")
    return problems


def path_problems(text: str) -> list[str]:
    problems = []
    for written, test in PATH.findall(text):
        relative = written.rstrip(".,;:)")
        target = ROOT / relative
        if not target.exists() and not _ignored(relative):
            problems.append(f"{relative}: no such file or folder")
        elif test and target.is_file() and not re.search(rf"^\s*def {re.escape(test[2:])}\(", _text(target), flags=re.M):
            problems.append(f"{relative}{test}: no such test")
    return problems


def map_problems(readme: str, root: Path = ROOT) -> list[str]:
    """The map names every folder of the package and every top-level folder, and only what exists."""
    section = _section(readme, "Map of the folders")
    named = set(re.findall(r"`([^`\s]+)`", section))
    problems = []
    for folder in sorted(p for p in (root / "stls").iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = folder / "__init__.py"
        doc = ast.get_docstring(ast.parse(_text(init))) if init.exists() else None
        if not doc or not doc.splitlines()[0].strip():
            problems.append(f"stls/{folder.name}/ is not a package whose __init__.py docstring says what it holds")
        if f"stls/{folder.name}/" not in named:
            problems.append(f"the map does not name stls/{folder.name}/")
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name != "stls" and not _ignored(folder.name + "/") and f"{folder.name}/" not in named:
            problems.append(f"the map does not name the top-level folder {folder.name}/")
    for line in section.splitlines():
        names = re.findall(r"`([^`\s]+)`", line)
        row = next((root / n for n in names if n.endswith("/")), root)   # a row's own folder comes first
        for name in names:
            if not (name.endswith("/") or re.search(r"\.\w+$", name)):
                continue   # not a path: STLS_DB
            if not any((base / name).exists() for base in (root, root / "stls", row)) and not _ignored(name):
                problems.append(f"the map names {name}, which does not exist")
    return problems


def _script_commands(path: Path) -> list[list[str]]:
    """Each command line of a shell script, split as the shell would (comments dropped)."""
    text = _text(path).replace("\\\n", " ")
    return [words for line in text.splitlines() if (words := shlex.split(line, comments=True))]


def _runs(words: list[str]) -> str | None:
    """The script a command line runs (``bash test.sh``, ``exec ./test.sh``), relative to the root."""
    words = [w for w in words if w != "exec"]
    if words and words[0] in ("bash", "sh") and len(words) > 1:
        words = words[1:]
    return words[0].removeprefix("./") if words and words[0].endswith(".sh") else None


def command_problems(readme: str, ci: Path = ROOT / ".ci" / "run") -> list[str]:
    section = _section(readme, "The two commands")
    block = re.search(r"```\w*\n(.*?)```", section, flags=re.S)
    if not block:
        return ["'The two commands' has no code block"]
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    commands = [line for line in lines if line]
    if len(commands) != 2:
        return [f"'The two commands' holds {len(commands)} commands: {commands}"]
    problems = []
    scripts = {}
    for command in commands:
        script = ROOT / command.removeprefix("./")
        if not command.startswith("./") or " " in command or not script.is_file():
            problems.append(f"{command}: not a script at the top of the checkout, run as ./NAME")
            continue
        body = _script_commands(script)
        if ["bash", "scripts/setup.sh"] not in body:
            problems.append(f"{command} does not set up with scripts/setup.sh")
        joined = [" ".join(words) for words in body]
        if any("-m stls serve" in c for c in joined):
            scripts["dashboard"] = command.removeprefix("./")
            port = re.search(r"PORT:-(\d+)", _text(script))
            if not port or f"http://localhost:{port.group(1)}" not in block.group(1):
                problems.append(f"the README's address for the dashboard is not the port {command} starts it on")
        elif any("-m pytest" in c for c in joined):
            scripts["tests"] = command.removeprefix("./")
        else:
            problems.append(f"{command} neither starts the dashboard (python -m stls serve) nor runs pytest")
    if set(scripts) != {"dashboard", "tests"}:
        problems.append(f"the two commands are not one for the dashboard and one for the tests: {scripts}")
    elif scripts["tests"] not in {_runs(words) for words in _script_commands(ci)}:
        problems.append(f".ci/run does not run the README's test command ./{scripts['tests']}")
    return problems


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the parser has no subcommands")


def _serve_options() -> set[str]:
    """``python -m stls serve`` takes every flag ``streamlit run`` takes."""
    from streamlit.web.cli import main_run
    return {opt for param in main_run.params for opt in getattr(param, "opts", [])}


def cli_problems(texts: dict[str, str], complete: bool = True) -> list[str]:
    """Every ``python -m stls COMMAND --option`` in ``texts`` exists in the parser; with
    ``complete``, every command and option of the parser is written down somewhere."""
    assert f'["{SERVE}"]' in inspect.getsource(cli.main), "stls.cli.main no longer hands 'serve' over before parsing"
    commands = _subcommands(cli.build_parser())
    problems, written = [], {}
    for name, text in texts.items():
        for command, rest in COMMAND.findall(text):
            rest = rest.split(" #")[0]
            options = set(OPTION.findall(rest))
            written.setdefault(command, set()).update(options)
            if command == SERVE:
                problems += [f"{name}: python -m stls serve {o}: streamlit run has no such flag"
                             for o in sorted(options - _serve_options())]
                continue
            if command not in commands:
                problems.append(f"{name}: python -m stls {command}: no such command (the parser has {', '.join(commands)})")
                continue
            sub = commands[command]
            known = {opt for action in sub._actions for opt in action.option_strings}
            problems += [f"{name}: python -m stls {command} {o}: no such option" for o in sorted(options - known)]
            positional = next((a for a in sub._actions if not a.option_strings), None)
            first = rest.split()[0] if rest.split() else ""
            if positional is not None and positional.choices and re.fullmatch(r"[a-z_]+", first) and first not in positional.choices:
                problems.append(f"{name}: python -m stls {command} {first}: not one of {', '.join(positional.choices)}")
    if complete:
        for command in [*commands, SERVE]:
            if command not in written:
                problems.append(f"python -m stls {command} is written nowhere in README.md or docs/")
        for command, sub in commands.items():
            options = {opt for a in sub._actions for opt in a.option_strings if opt.startswith("--") and opt != "--help"}
            problems += [f"python -m stls {command} {o} is written nowhere in README.md or docs/"
                         for o in sorted(options - written.get(command, set()))]
    return problems


def kinds_problems(text: str) -> list[str]:
    from stls.store.ingest import KINDS
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", text, flags=re.M)}
    problems = [f"docs/loading-files.md lists no kind `{k}`" for k in KINDS if k not in rows]
    problems += [f"docs/loading-files.md lists a kind `{k}` the importer does not take" for k in rows if k not in KINDS]
    for name, kind in KINDS.items():
        if name in rows:
            problems += [f"docs/loading-files.md: `{name}` does not name its required column {c}"
                         for c in kind.required if not re.search(rf"\b{re.escape(c)}\b", rows[name].replace("\\", ""))]
    return problems


# ---- on the real files ----------------------------------------------------------------------------

def test_the_readme_is_a_short_front_door_to_every_manual():
    readme = _text(README)
    assert len(readme.splitlines()) < MAX_README_LINES, f"README.md has {len(readme.splitlines())} lines"
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in LINK.findall(_without_code(readme))}
    assert [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked] == []
    images = re.findall(r"!\[[^\]]+\]\(([^)\s]+)\)", readme)
    assert images and all((ROOT / i).is_file() for i in images), images


def test_every_relative_link_resolves():
    problems = [p for path, text in _documents().items() for p in link_problems(path, text)]
    assert problems == []


def test_the_map_names_every_folder_and_only_folders_that_exist():
    assert map_problems(_text(README)) == []


def test_the_two_commands_are_the_scripts_and_ci_runs_the_test_command():
    assert command_problems(_text(README)) == []


def test_every_command_line_written_down_is_the_parsers_and_every_command_is_written_down():
    texts = {path.relative_to(ROOT).as_posix(): text for path, text in _documents().items()}
    assert cli_problems(texts) == []


def test_every_path_written_down_exists():
    problems = [f"{path.relative_to(ROOT)}: {p}" for path, text in _documents().items() for p in path_problems(text)]
    assert problems == []


def test_every_kind_of_file_is_documented_with_its_required_columns():
    assert kinds_problems(_text(DOCS / "loading-files.md")) == []


# ---- each check fails on a broken input -----------------------------------------------------------

def _readme_with(old: str, new: str) -> str:
    readme = _text(README)
    assert old in readme
    return readme.replace(old, new, 1)


@pytest.mark.parametrize("broken", [
    "[a manual](docs/no-such-manual.md)",
    "[a heading](docs/cli.md#no-such-heading)",
    "[outside](../../etc/passwd)",
])
def test_a_broken_link_is_caught(broken):
    assert link_problems(README, f"Read {broken}.")


@pytest.mark.parametrize("broken", ["`stls/impact.py`", "`pages/overview.py` and tests/test_nothing.py",
                                    "`tests/test_docs.py::test_no_such_test`", "see bench/no_such_bench.py."])
def test_a_path_that_does_not_exist_is_caught(broken):
    assert path_problems(broken)


def test_a_package_folder_without_a_docstring_is_caught(tmp_path):
    (tmp_path / "stls" / "kpi").mkdir(parents=True)
    (tmp_path / "stls" / "kpi" / "__init__.py").write_text("from x import y\n", encoding="utf-8")
    readme = "## Map of the folders\n\n| `stls/kpi/` | the KPIs |\n"
    assert map_problems(readme, tmp_path) == ["stls/kpi/ is not a package whose __init__.py docstring says what it holds"]


def test_a_map_missing_a_folder_or_naming_a_lost_one_is_caught():
    assert map_problems(_readme_with("| `stls/kpi/` |", "| `stls/kpis/` |"))      # misses kpi/, names kpis/
    assert map_problems(_readme_with("| `bench/` |", "| benchmarks |"))          # misses a top-level folder
    assert map_problems(_readme_with("`setup.sh`", "`set_up.sh`"))              # a file that is not there


def test_commands_that_are_not_the_scripts_are_caught(tmp_path):
    ci = tmp_path / "run"
    ci.write_text('#!/usr/bin/env bash\ncd "$(dirname "$0")/.."\nbash run.sh   # not the test command\n', encoding="utf-8")
    assert command_problems(_text(README), ci) == [".ci/run does not run the README's test command ./test.sh"]
    assert command_problems(_readme_with("./test.sh     #", "./check.sh    #"))
    assert command_problems(_readme_with("./run.sh      #", "./test.sh     #"))
    assert command_problems(_readme_with("http://localhost:8501", "http://localhost:8000"))
    assert command_problems(_readme_with("./run.sh      #", "streamlit run app.py      #"))


@pytest.mark.parametrize("broken", [
    "`python -m stls scorecard`",                       # no such command
    "`python -m stls kpis --districts Swale`",          # no such option
    "`python -m stls import nonsense file.csv`",        # no such kind
    "`python -m stls serve --server.portt 8502`",       # not a streamlit run flag
])
def test_a_command_line_the_parser_does_not_take_is_caught(broken):
    assert cli_problems({"doc": broken}, complete=False)


def test_a_command_or_option_written_nowhere_is_caught():
    written = {path.name: text for path, text in _documents().items()}
    assert not cli_problems(written)
    without_check = {name: text.replace("python -m stls check", "python -m stls") for name, text in written.items()}
    assert any("python -m stls check is written nowhere" in p for p in cli_problems(without_check))
    without_earlier = {name: text.replace("--earlier", "") for name, text in written.items()}
    assert any("--earlier is written nowhere" in p for p in cli_problems(without_earlier))


def test_a_kind_of_file_missing_from_the_manual_is_caught():
    text = _text(DOCS / "loading-files.md")
    assert kinds_problems(re.sub(r"^\| `budget` \|.*\n", "", text, flags=re.M))
    assert kinds_problems(text.replace("financial_year, service, allocation_gbp", "financial_year, service"))

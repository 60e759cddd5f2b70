"""The config's JSON Schema and its Markdown reference, as text (``lakeflow schema [--markdown]``).

Pure (it only builds strings). Both are generated from the models in
:mod:`lakeflow.core.config`; ``docs/config.md`` and ``docs/config.schema.json`` are their
output, committed, and a test regenerates them to prove they are current. This module lives
outside ``lakeflow.core`` only because it writes YAML examples with PyYAML.

Regenerate the committed files after changing a model::

    lakeflow schema > docs/config.schema.json
    lakeflow schema --markdown > docs/config.md
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import yaml

from lakeflow.core.config import json_schema
from lakeflow.core.config.pipeline import SECTIONS
from lakeflow.core.config.values import ENV_REFERENCE

__all__ = ["reference_markdown", "schema_text"]

_RST_LITERAL = re.compile(r"``([^`]+)``")
_RST_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr):`~?([^`]+)`")
_REF = "#/$defs/"

_INTRO: Final = """\
# Pipeline config reference

<!-- Generated from the models in lakeflow/core/config/ by `lakeflow schema --markdown`;
do not edit by hand (a test fails when this file is not current). -->

A pipeline is one YAML file. Every command takes it (`lakeflow run pipeline.yaml`), checks
all of it before doing anything, and reports every problem at once, each with its key path,
its place in the file and, for a misspelt key or value, the closest valid one:

```text
error: invalid pipeline config (2 problem(s)):
  - source.sql.partitions: expected an integer between 1 and 1024, got 'four' (pipeline.yaml:7:17)
  - load.moed: unknown key; did you mean 'mode'? (pipeline.yaml:12:3)
```

A config error exits with status 2 before any data is read or written.

## Conventions

* **Environment variables.** Any string value may use `${NAME}` (an unset variable is a
  problem naming it) or `${NAME:-default}` (the default when unset or empty); `$$` is a
  literal `$`, and any other `$` is literal too (`^[a-z]+$` needs no escaping). A value that
  uses `${...}` may stand for a number or a boolean (`partitions: "${PARTITIONS:-4}"`); a
  quoted literal may not (`"4"` is text).
* **Secrets come only from the environment.** Database passwords (`postgresql://etl:${PGPASSWORD}@db/prod`
  or `uri: "${SOURCE_DB_URI}"`), the `protect` salt, lakeFS keys and the SMTP password
  written in the file are refused. Secrets never appear in output, records or errors.
* **Relative paths** (a `local://` lake, file sources, `sqlite://` databases) resolve against
  the config file's folder; `local:///abs/path` and `sqlite:////abs/file.db` are absolute.
  Lake paths (`load.path`, `source.lake.path`, reference datasets) are paths *inside* the lake.
* **`null` means "not given"**: the default applies (except `on_error: null`).
* **Order matters** where it is written: transform steps, `null_handling` entries, derived
  columns and categorize bins run in the order written.

## Editor support: completion and inline errors

`lakeflow schema` prints the config's JSON Schema (`docs/config.schema.json` in the
repository is the same). Editors with a YAML language server (VS Code's *YAML* extension by
Red Hat, Neovim's `yamlls`, JetBrains IDEs) then complete keys, show these descriptions on
hover and underline unknown keys and wrong values as you type.

Save the schema next to your configs and point the file at it with a first-line comment:

```sh
lakeflow schema > pipeline.schema.json
```

```yaml
# yaml-language-server: $schema=./pipeline.schema.json
pipeline: users
```

Or map it to every pipeline file in VS Code's `settings.json` (the key is the schema, the
value the files it applies to):

```json
{
  "yaml.schemas": {
    "./pipeline.schema.json": ["pipelines/*.yaml", "**/pipeline.yaml"]
  }
}
```

The schema checks shapes, types, allowed values and ranges. A few rules need more than a
schema can say and are checked by lakeflow only: "exactly one of `table` and `query`",
pairs of keys that go together, SQL that parses, and environment variables that are set.
"""


def schema_text() -> str:
    """Pure. The config's JSON Schema as indented JSON text."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    """Docstring text as Markdown: ``x`` -> `x`, roles -> `x`, lines joined."""
    text = _RST_ROLE.sub(lambda m: f"``{m[1].rsplit('.', 1)[-1]}``", text)
    return _RST_LITERAL.sub(r"`\1`", " ".join(text.split()))


def _paragraphs(text: str) -> Iterator[str]:
    for paragraph in text.strip().split("\n\n"):
        if paragraph.strip():
            yield _md(paragraph)
            yield ""


def _cell(text: str) -> str:
    return _md(text).replace("|", "\\|")


def _anchor(title: str) -> str:
    slug = re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")
    return f"#{slug}"


class _Reference:
    """Walks the JSON Schema and writes a section per model, in the order first met."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.defs: Mapping[str, Any] = schema.get("$defs", {})
        self.titles: dict[str, str] = {}
        self.order: list[tuple[str, str]] = []

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        return self.defs[ref.removeprefix(_REF)] if isinstance(ref, str) else node

    def visit(self, node: Mapping[str, Any], path: str) -> None:
        """Note every model reachable from ``node``, with the key path it first appears at."""
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix(_REF)
            target = self.defs[name]
            if name.endswith("Block"):  # {kind: body}: document the body under its kind
                for kind, body in target.get("properties", {}).items():
                    self.visit(body, f"{path}.{kind}")
                return
            if name not in self.titles:
                self.titles[name] = f"`{path}`"
                self.order.append((name, path))
                self.visit_children(target, path)
            return
        self.visit_children(node, path)

    def visit_children(self, node: Mapping[str, Any], path: str) -> None:
        for key, child in node.get("properties", {}).items():
            self.visit(child, f"{path}.{key}" if path else key)
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            name = "label" if path.endswith(".bins") else "column"
            self.visit(extra, f"{path}.<{name}>")
        for keyword in ("anyOf", "oneOf", "allOf"):
            for child in node.get(keyword, []):
                self.visit(child, path)
        items = node.get("items")
        if isinstance(items, Mapping):
            self.visit(items, f"{path}[]")

    def disambiguate(self) -> None:
        """Models met at the same path (``{min, max}`` or ``[values]``) say which they are."""
        paths = [path for _, path in self.order]
        for name, path in self.order:
            if paths.count(path) > 1:
                words = re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()
                self.titles[name] = f"`{path}` ({words})"

    def type_of(self, node: Mapping[str, Any]) -> str:
        """A short human rendering of a JSON Schema node."""
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix(_REF)
            target = self.defs[name]
            if name.endswith("Block"):
                return " or ".join(
                    f"`{kind}:` {self.type_of(body)}"
                    for kind, body in target.get("properties", {}).items()
                )
            title = self.titles.get(name, name)
            return f"[{title}]({_anchor(title)})"
        for keyword in ("anyOf", "oneOf"):
            if keyword in node:
                options = [
                    self.type_of(o) for o in node[keyword] if o.get("pattern") != ENV_REFERENCE
                ]
                return " or ".join(dict.fromkeys(o for o in options if o != "null"))
        if "enum" in node:
            return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
        if "const" in node:
            return f"`{node['const']}`"
        kind = node.get("type")
        if kind == "array":
            items = node.get("items", {})
            inner = self.type_of(items) if items else "values"
            least = "non-empty " if node.get("minItems") else ""
            return f"{least}list of {inner}"
        if kind == "object":
            extra = node.get("additionalProperties")
            if isinstance(extra, Mapping):
                least = "non-empty " if node.get("minProperties") else ""
                return f"{least}mapping of name to {self.type_of(extra)}"
            return "mapping"
        if kind == "string":
            if node.get("writeOnly"):
                return "secret string"
            fmt = str(node.get("format", ""))
            return {"date": "date", "date-time": "date-time"}.get(fmt, "string")
        if kind in ("integer", "number"):
            return f"{kind}{_range(node)}"
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        return "any"

    def section(self, name: str, path: str) -> Iterator[str]:
        model = self.defs[name]
        title = self.titles[name]
        yield f"### {title}"
        yield ""
        yield from _paragraphs(model.get("description", ""))
        properties: Mapping[str, Any] = model.get("properties", {})
        if properties:
            required = set(model.get("required", []))
            yield "| key | type | default | description |"
            yield "|---|---|---|---|"
            for key, node in properties.items():
                value = node.get("default")
                default = (
                    "required"
                    if key in required
                    else ("—" if value in (None, [], {}) else f"`{json.dumps(value)}`")
                )
                description = _cell(node.get("description", ""))
                yield f"| `{key}` | {self.type_of(node)} | {default} | {description} |"
            yield ""
        else:
            yield f"Type: {self.type_of(_without_doc(model))}."
            yield ""
        for example in model.get("examples", [])[:1]:
            yield "Example:"
            yield ""
            yield "```yaml"
            key = path.rsplit(".", 1)[-1].replace("[]", "").strip("<>")
            body = {key: [example] if path.endswith("[]") else example}
            yield yaml.safe_dump(
                body, sort_keys=False, allow_unicode=True, default_flow_style=None, width=92
            ).rstrip()
            yield "```"
            yield ""


def _without_doc(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in ("description", "title", "examples")}


def _range(node: Mapping[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if "exclusiveMinimum" in node:
        return f" > {node['exclusiveMinimum']}"
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def reference_markdown() -> str:
    """Pure. ``docs/config.md``: every section, key, type, default, description and an example."""
    schema = json_schema()
    reference = _Reference(schema)
    top: Mapping[str, Any] = schema["properties"]
    for key in SECTIONS:
        reference.visit(top[key], key)
    reference.disambiguate()
    lines = [_INTRO, "## The top level", "", _md(schema.get("description", "")), ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for key in SECTIONS:
        node = top[key]
        default = "required" if key in required else "—"
        lines.append(
            f"| `{key}` | {reference.type_of(node)} | {default} | "
            f"{_cell(node.get('description', ''))} |"
        )
    lines += ["", "Example:", "", "```yaml"]
    example = schema["examples"][0]
    lines.append(yaml.safe_dump(example, sort_keys=False, default_flow_style=None).rstrip())
    lines += ["```", "", "## Sections", ""]
    for name, path in reference.order:
        lines.extend(reference.section(name, path))
    return "\n".join(lines).rstrip() + "\n"

"""Load a pipeline config file: read the YAML, take the environment, resolve relative paths.

Effectful: :func:`load_config` reads a file and ``os.environ``. Decoding and validation are the
pure :func:`lakeflow.core.config.parse_config`; this module adds what needs the outside world
or PyYAML:

* YAML syntax errors, an empty document or a top level that is not a mapping become a
  :class:`~lakeflow.core.errors.ConfigError` naming the file, line and column; so does a
  missing or unreadable file. Duplicate keys are reported too (PyYAML silently keeps the last
  one, which would drop a whole transform step without a word).
* Every problem the decoder finds gets the file, line and column of its key (or of the nearest
  enclosing key that exists), e.g. ``source.sql.partitions: expected an integer >= 1, got
  'four' (pipeline.yaml:7:17)``.
* Relative paths resolve against the config file's folder (not the current directory): the
  local lake URL (``local://./lake``; ``local:///abs/path`` is absolute), file source paths
  and globs, and the metrics textfile folder. ``~`` is expanded in each. Lake paths
  (``load.path``, ``source.lake.path``, reference datasets) are paths *inside* the lake and
  stay as written, and so do URLs such as ``s3://...`` and database URIs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from lakeflow.core.config import (
    CsvSourceConfig,
    NdjsonSourceConfig,
    ParquetSourceConfig,
    PipelineConfig,
    SqlSourceConfig,
    key_path,
    parse_config,
)
from lakeflow.core.errors import ConfigError, ConfigProblem
from lakeflow.core.secrets import Secret

__all__ = ["config_from_yaml", "load_config"]

_Location = tuple[int, int]
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_NODES = 100_000
_REQUIRED = "pipeline, lake, source and load"
_LAST_PART = re.compile(r'(?:\.[A-Za-z0-9_\-]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$')


def load_config(
    path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> IOResult[PipelineConfig, ConfigError]:
    """Effect: read and decode the config file at ``path``; relative paths resolve against it.

    Args:
        path: The YAML config file.
        env: The environment ``${NAME}`` references read; ``os.environ`` when omitted.

    Returns:
        ``IOSuccess(config)`` or ``IOFailure(ConfigError)`` listing every problem, each with
        its key path and, where it has one, ``file:line:column``.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return _io_failure(f"config file not found: {file}")
    except IsADirectoryError:
        return _io_failure(f"config file {file} is a directory")
    except OSError as exc:
        return _io_failure(f"cannot read config file {file}: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _io_failure(f"config file {file} is not UTF-8 text (byte {exc.start})")
    environment = dict(os.environ) if env is None else env
    result = config_from_yaml(
        text, env=environment, base_dir=file.absolute().parent, source=str(file)
    )
    return IOResult.from_result(result)


def config_from_yaml(
    text: str,
    *,
    env: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    source: str = "<config>",
) -> Result[PipelineConfig, ConfigError]:
    """Decode config YAML ``text`` (no I/O: ``env`` is passed in, empty when omitted).

    Args:
        text: The YAML document.
        env: The environment ``${NAME}`` references read.
        base_dir: The folder relative paths resolve against; left relative when ``None``.
        source: The name used in locations (``source:line:column``).
    """
    data, locations, problems = _parse_yaml(text, source)
    if data is None and problems:
        return Failure(ConfigError(tuple(problems)))
    decoded = parse_config(data, env)
    if isinstance(decoded, Failure) or problems:
        found = decoded.failure().problems if isinstance(decoded, Failure) else ()
        located = tuple(_locate(p, locations, source) for p in found)
        return Failure(ConfigError(tuple(problems) + located))
    config = decoded.unwrap()
    if base_dir is None:
        return Success(config)
    return Success(_resolve_paths(config, Path(base_dir)))


# ---------------------------------------------------------------------------------------------
# YAML with locations and duplicate keys
# ---------------------------------------------------------------------------------------------


def _parse_yaml(text: str, source: str) -> tuple[object, dict[str, _Location], list[ConfigProblem]]:
    """The parsed document, the location of every key path, and duplicate-key problems."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            message = f"config file {source} is empty: expected a mapping with {_REQUIRED}"
            return None, {}, [ConfigProblem("", message)]
        walker = _Walker(source)
        walker.walk(node, ())
        if walker.fatal:
            return None, {}, walker.fatal
        return loader.construct_document(node), walker.locations, walker.duplicates
    except yaml.MarkedYAMLError as exc:
        return None, {}, [ConfigProblem("", _syntax_message(exc, source))]
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = (
            f"{source}:{line}:{column}: invalid YAML: character #x{exc.character:04x} "
            f"is not allowed ({exc.reason})"
        )
        return None, {}, [ConfigProblem("", message)]
    except yaml.YAMLError as exc:
        message = str(exc).replace('"<unicode string>"', source)
        return None, {}, [ConfigProblem("", f"{source}: invalid YAML: {message}")]
    finally:
        if loader is not None:
            loader.dispose()


def _syntax_message(exc: yaml.MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    message = f"{where}: invalid YAML: {exc.problem or 'syntax error'}"
    if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
        context_mark = exc.context_mark
        message += (
            f" ({exc.context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
        )
    return message


class _Walker:
    """Records where every key path starts, and reports keys written twice in one mapping."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.locations: dict[str, _Location] = {}
        self.duplicates: list[ConfigProblem] = []
        self.fatal: list[ConfigProblem] = []
        self._active: set[int] = set()
        self._visited = 0

    def walk(self, node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if self.fatal:
            return
        self._visited += 1
        recursive = id(node) in self._active
        if recursive or self._visited > _MAX_NODES:
            reason = (
                "a recursive alias (a value that contains itself)"
                if recursive
                else f"more than {_MAX_NODES} values once aliases are expanded"
            )
            mark = node.start_mark
            where = f"{self.source}:{mark.line + 1}:{mark.column + 1}"
            self.fatal.append(ConfigProblem(key_path(path), f"{where}: invalid config: {reason}"))
            return
        self._active.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                mark = item.start_mark
                self.locations.setdefault(key_path(child), (mark.line + 1, mark.column + 1))
                self.walk(item, child)
        self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...]) -> None:
        seen: dict[tuple[str, str], _Location] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *base` merges keys; later ones override
                self.walk(value_node, path)
                continue
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            here = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            child = (*path, key)
            identity = (key_node.tag, key)
            if identity in seen:
                self.duplicates.append(
                    ConfigProblem(
                        key_path(child),
                        f"duplicate key (first written at line {seen[identity][0]}); YAML "
                        f"would keep only the last one ({self.source}:{here[0]}:{here[1]})",
                    )
                )
            seen.setdefault(identity, here)
            self.locations.setdefault(key_path(child), here)
            self.walk(value_node, child)


def _locate(
    problem: ConfigProblem, locations: Mapping[str, _Location], source: str
) -> ConfigProblem:
    """The problem with the location of its key path, or of the nearest ancestor written."""
    path = problem.path
    while path:
        found = locations.get(path)
        if found is not None:
            return ConfigProblem(
                problem.path, f"{problem.message} ({source}:{found[0]}:{found[1]})"
            )
        trimmed = _LAST_PART.sub("", path)
        path = "" if trimmed == path else trimmed
    return ConfigProblem(problem.path, f"{problem.message} ({source})")


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def _absolute(path: str, base: Path) -> str:
    expanded = Path(path).expanduser()
    return os.path.normpath(expanded if expanded.is_absolute() else base / expanded)


def _resolve_paths(config: PipelineConfig, base: Path) -> PipelineConfig:
    """``config`` with the local lake and file sources made absolute (the hash is kept)."""
    lake = config.lake
    if lake.kind == "local":
        location = lake.url.removeprefix("local://")
        lake = lake.model_copy(update={"url": "local://" + _absolute(location, base)})
    source = config.source
    if isinstance(source, ParquetSourceConfig | CsvSourceConfig | NdjsonSourceConfig) and (
        "://" not in source.path
    ):
        source = source.model_copy(update={"path": _absolute(source.path, base)})
    if isinstance(source, SqlSourceConfig):
        source = source.model_copy(update={"uri": _sqlite_absolute(source.uri, base)})
    load = config.load
    if load.database is not None:
        uri = _sqlite_absolute(load.database.uri, base)
        load = load.model_copy(update={"database": load.database.model_copy(update={"uri": uri})})
    monitoring = config.monitoring
    prometheus = monitoring.prometheus if monitoring is not None else None
    if monitoring is not None and prometheus is not None and prometheus.textfile_dir is not None:
        folder = _absolute(prometheus.textfile_dir, base)
        prometheus = prometheus.model_copy(update={"textfile_dir": folder})
        monitoring = monitoring.model_copy(update={"prometheus": prometheus})
    return config.model_copy(
        update={"lake": lake, "source": source, "load": load, "monitoring": monitoring}
    )


def _sqlite_absolute(uri: Secret, base: Path) -> Secret:
    """``sqlite://relative/file.db`` resolved against ``base`` (``sqlite:///abs`` is kept)."""
    text = uri.reveal()
    if not text.startswith("sqlite://") or text.startswith("sqlite:///"):
        return uri
    location, sep, query = text.removeprefix("sqlite://").partition("?")
    return Secret("sqlite://" + _absolute(location, base) + sep + query)


def _io_failure(message: str) -> IOResult[PipelineConfig, ConfigError]:
    return IOFailure(ConfigError((ConfigProblem("", message),)))

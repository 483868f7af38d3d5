"""Load flow files: YAML with positions, the pydantic schema, prompts, subflows, then the static
checks. Every problem is reported as ``file:line:col: message``; nothing is raised but
FlowValidationError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from voiceplatform.exceptions import FlowLimitError, FlowValidationError, Problem
from voiceplatform.flow.checks import check_flow
from voiceplatform.flow.definition import SPEC_VERSION, FlowDefinition, migrate_document
from voiceplatform.flow.flow import Flow
from voiceplatform.flow.paths import FlowFolders, PathRefused, file_size, is_regular_file
from voiceplatform.flow.prompts import find_prompts_directory, load_catalogue, search_prompts_directory
from voiceplatform.flow.yaml_source import Locations, check_flow_size, limit_hint, load_yaml
from voiceplatform.limits import current as current_limits


def load_flow(path: str | Path) -> Flow:
    """Load and validate a flow file (and its subflows). Raises FlowValidationError listing every
    error; warnings do not stop loading."""
    flow, problems = analyse_flow(path)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors or flow is None:
        raise FlowValidationError(errors)
    return flow


def load_flow_text(text: str, file: str = "<flow>", base_dir: str | Path | None = None) -> Flow:
    """Load a flow from YAML text. Subflow and prompt paths are relative to ``base_dir``."""
    flow, problems = analyse_flow_text(text, file, base_dir)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors or flow is None:
        raise FlowValidationError(errors)
    return flow


def analyse_flow_text(text: str, file: str = "<flow>", base_dir: str | Path | None = None) -> tuple[Flow | None, list[Problem]]:
    """Like analyse_flow, for YAML text (an API body). Paths resolve against ``base_dir`` and
    stay inside it (or its prompts folder). Raises FlowLimitError when the text itself is over
    a resource limit (size, aliases, values, nodes), so an API can answer 413/422."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _FlowReader(raise_limits=True).read_text(text, file, base / Path(file).name)


def analyse_flow(path: str | Path) -> tuple[Flow | None, list[Problem]]:
    """Load a flow file and return it (None when it cannot be built) with every problem found."""
    return _FlowReader().read_file(Path(path))


class _FlowReader:
    """Reads one flow and the subflows it names, sharing one library between them."""

    def __init__(self, raise_limits: bool = False) -> None:
        self.raise_limits = raise_limits  # the root text's limit errors are raised, not listed
        self.library: dict[str, Flow] = {}
        self.by_file: dict[Path, Flow | None] = {}
        self.problems: list[Problem] = []
        self.folders = FlowFolders(Path.cwd().resolve())
        self.session_languages: tuple[str, ...] = ()  # the root flow's languages

    def read_file(self, path: Path) -> tuple[Flow | None, list[Problem]]:
        self.folders = FlowFolders.around(path, search_prompts_directory(path))
        try:
            root = self._file(path)
        except FlowLimitError:
            return None, sorted(set(self.problems))  # listed already: a file's limits are problems
        return self._finish(root)

    def read_text(self, text: str, file: str, path: Path) -> tuple[Flow | None, list[Problem]]:
        self.folders = FlowFolders.around(path, search_prompts_directory(path))
        try:
            root = self._document(text, file, path)
        except FlowLimitError:
            if self.raise_limits:
                raise
            return None, sorted(set(self.problems))
        return self._finish(root)

    def _finish(self, flow: Flow | None) -> tuple[Flow | None, list[Problem]]:
        if flow is not None:
            self.problems.extend(check_flow(flow))
        return flow, sorted(set(self.problems))

    def _file(self, path: Path) -> Flow | None:
        key = path.resolve()
        if key in self.by_file:
            return self.by_file[key]
        self.by_file[key] = None
        try:
            check_flow_size(file_size(path), str(path))
        except FlowValidationError as exc:
            self.problems.extend(exc.problems)
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(str(path), 1, 1, f"cannot read flow: {exc}"))
            return None
        return self._document(text, str(path), path)

    def _document(self, text: str, file: str, path: Path) -> Flow | None:
        """Read one flow text. Limit errors of the root text (``_FlowReader.read_text``) are
        raised; every other problem (and a subflow's limit errors) is listed."""
        is_root = not self.library
        try:
            data, locations = load_yaml(text, file)
            definition = self._definition(data, locations)
        except FlowLimitError as exc:
            self.problems.extend(exc.problems)
            if is_root:
                raise
            return None
        except FlowValidationError as exc:
            self.problems.extend(exc.problems)
            return None
        if definition is None:
            return None
        nodes: dict[str, Any] = {}
        for position, node in enumerate(definition.nodes):
            if node.id in nodes:
                self.problems.append(locations.problem(("nodes", position, "id"), f"duplicate node id {node.id!r}"))
                continue
            nodes[node.id] = node
        try:
            directory = find_prompts_directory(path, definition.prompts, self.folders)
        except PathRefused as exc:
            self.problems.append(locations.problem(("prompts",), f"prompts {definition.prompts!r} {exc}"))
            directory = None
        if is_root:
            self.session_languages = definition.all_languages
        # A subflow speaks the session's language, whatever its own ``language:``: load those too.
        languages = tuple(dict.fromkeys((*definition.all_languages, *self.session_languages)))
        prompts, prompt_problems = load_catalogue(directory, languages, self.folders)
        self.problems.extend(prompt_problems)
        if definition.name in self.library:
            other = self.library[definition.name]
            self.problems.append(locations.problem(("name",), f"flow name {definition.name!r} is also used by {other.file}"))
            return None
        flow = Flow(definition, file, locations, nodes, prompts, self.library)
        self.by_file[path.resolve()] = flow  # before subflows, so a cycle finds it
        self._subflows(flow, path, definition, locations)
        return flow

    def _definition(self, data: Any, locations: Locations) -> FlowDefinition | None:
        if not isinstance(data, dict):
            self.problems.append(locations.problem((), "a flow is a mapping with spec_version, name, start and nodes"))
            return None
        version = data.get("spec_version")
        if version is None:
            self.problems.append(locations.problem((), f"spec_version is required (this platform reads {SPEC_VERSION})"))
            return None
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SPEC_VERSION:
            self.problems.append(locations.problem(("spec_version",), f"unsupported spec_version {version!r} (this platform reads 1 to {SPEC_VERSION})"))
            return None
        nodes = data.get("nodes")
        maximum = current_limits().max_flow_nodes
        if isinstance(nodes, list) and len(nodes) > maximum:  # counted before any node is validated
            raise FlowLimitError([locations.problem(("nodes",), f"the flow has {len(nodes):,} nodes; at most {maximum:,} are allowed ({limit_hint('max_flow_nodes')})")], "max_flow_nodes")
        try:
            return FlowDefinition.model_validate(migrate_document(data))
        except ValidationError as exc:
            self.problems.extend(_schema_problems(exc, data, locations))
            return None

    def _subflows(self, flow: Flow, path: Path, definition: FlowDefinition, locations: Locations) -> None:
        for position, node in enumerate(definition.nodes):
            for field_path, reference in node.subflow_refs():
                where = ("nodes", position, *field_path)
                try:
                    child_path = self.folders.confine(reference, path.parent)
                except PathRefused as exc:
                    self.problems.append(locations.problem(where, f"subflow {reference!r} {exc}"))
                    continue
                if not is_regular_file(child_path):
                    self.problems.append(locations.problem(where, f"subflow file {reference!r} not found"))
                    continue
                child = self._file(child_path)
                if child is None:
                    self.problems.append(locations.problem(where, f"subflow {reference!r} has errors"))
                    continue
                flow.subflows[reference] = child.name


def _schema_problems(exc: ValidationError, data: dict[str, Any], locations: Locations) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        if loc == ["nodes"] and error["type"] == "too_short" and data.get("nodes"):
            continue  # pydantic's echo of node errors: the nodes are there, but invalid
        node_label = ""
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            raw_nodes = data.get("nodes")
            raw = raw_nodes[loc[1]] if isinstance(raw_nodes, list) and loc[1] < len(raw_nodes) else None
            if isinstance(raw, dict):
                if len(loc) >= 3 and loc[2] == raw.get("type"):
                    del loc[2]  # the discriminated union's tag, not a field
                if isinstance(raw.get("id"), str):
                    node_label = f"node {raw['id']!r}: "
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            tag = error.get("ctx", {}).get("tag")
            expected = error.get("ctx", {}).get("expected_tags", "")
            message = f"unknown node type {tag!r}; expected one of {expected}"
            loc = loc + ["type"]
        elif error["type"] == "union_tag_not_found":
            message = "node needs a 'type'"
        elif error["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        field = ".".join(str(part) for part in (loc[2:] if node_label else loc))
        if error["type"] == "missing":
            message = f"{field} is required"
            loc = loc[:-1]
        elif field and error["type"] != "extra_forbidden" and not message.startswith("unknown node type"):
            message = f"{field}: {message}"
        problems.append(locations.problem(tuple(loc), node_label + message))
    return problems

"""Validation of Gemini API bodies against the official `google-genai` package.

`check(kind, payload)` returns a list of problems (empty when the payload is valid):

- `gemini.request`: a `generateContent` / `streamGenerateContent` request body. Every
  top-level field is validated, strictly and by its camelCase wire name only, against the
  package's pydantic type for it (`contents` as `list[Content]`, `generationConfig` as
  `GenerationConfig`, ...), unknown fields are refused (the package's models forbid extra
  fields), and the value must come back unchanged from a round trip through the type (a
  lower-case enum value or an unknown enum value, which the package only warns about, are
  problems; field names may be camelCase or proto snake_case, as the service reads both). Then the rules the service enforces beyond the types: parts
  carry exactly one kind of data, roles are `user` or `model`, function calls come from the
  model and their responses from the user, one response per call of the turn before, names of
  declared functions, `responseJsonSchema` with `responseMimeType: application/json`, ...
- `gemini.response` / `gemini.stream_chunk`: a reply body, or one `data:` payload of a stream,
  as `GenerateContentResponse`, with the same strictness.
"""

import json
import re
import warnings
from typing import Any

import pydantic
from google.genai import types

_REQUEST_FIELDS = {
    "contents": list[types.Content],
    "systemInstruction": types.Content,
    "tools": list[types.Tool],
    "toolConfig": types.ToolConfig,
    "safetySettings": list[types.SafetySetting],
    "generationConfig": types.GenerationConfig,
    "cachedContent": str,
    "serviceTier": types.ServiceTier,
}

_ADAPTERS: dict[Any, pydantic.TypeAdapter] = {}

# The data fields of a Part: the service accepts exactly one of them per part.
_PART_DATA = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
)

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$")


def _adapter(tp: Any) -> pydantic.TypeAdapter:
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS[tp] = pydantic.TypeAdapter(tp)
    return adapter


def _strip_nulls(value: Any) -> Any:
    """The value without null object members (proto JSON reads null as absent)."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _diff(path: str, sent: Any, back: Any, out: list[str]) -> None:
    """Where `sent` and its round trip through the SDK type differ."""
    if isinstance(sent, dict) and isinstance(back, dict):
        for key in sent:
            # The service reads proto JSON: a field's camelCase name or its proto
            # (snake_case) name. The official client itself sends some snake_case names.
            name = key if key in back else _camel(key)
            if name not in back:
                out.append(f"{path}.{key}: not a field of the official type")
            else:
                _diff(f"{path}.{key}", sent[key], back[name], out)
        return
    if isinstance(sent, list) and isinstance(back, list) and len(sent) == len(back):
        for i, (a, b) in enumerate(zip(sent, back)):
            _diff(f"{path}[{i}]", a, b, out)
        return
    if sent != back:
        out.append(f"{path}: {json.dumps(sent)[:120]} is read by the official type as {json.dumps(back)[:120]}")


def _validate(path: str, tp: Any, value: Any, out: list[str]) -> None:
    adapter = _adapter(tp)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = adapter.validate_json(json.dumps(value), strict=True)
        except pydantic.ValidationError as e:
            for err in e.errors():
                loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
                out.append(f"{path}{loc}: {err['msg']} (official google-genai type)")
            return
    for w in caught:
        out.append(f"{path}: {w.message} (official google-genai type)")
    back = adapter.dump_python(parsed, mode="json", by_alias=True, exclude_none=True)
    _diff(path, _strip_nulls(value), back, out)


def _part_rules(path: str, part: Any, role: Any, out: list[str]) -> None:
    if not isinstance(part, dict):
        return
    data = [k for k in _PART_DATA if part.get(k) is not None]
    if len(data) != 1:
        out.append(
            f"{path}: a part must hold exactly one of {', '.join(_PART_DATA)}; it holds "
            f"{len(data)} ({', '.join(data) or 'none'})"
        )
    if "functionCall" in data and role != "model":
        out.append(f"{path}: a functionCall part belongs in a `model` content, not `{role}`")
    if "functionResponse" in data and role != "user":
        out.append(f"{path}: a functionResponse part belongs in a `user` content, not `{role}`")
    if part.get("thought") and "text" not in data:
        out.append(f"{path}: a thought part must be a text part")
    fc = part.get("functionCall")
    if isinstance(fc, dict) and not fc.get("name"):
        out.append(f"{path}.functionCall.name: required")
    fr = part.get("functionResponse")
    if isinstance(fr, dict):
        if not fr.get("name"):
            out.append(f"{path}.functionResponse.name: required")
        if not isinstance(fr.get("response"), dict):
            out.append(f"{path}.functionResponse.response: required (a JSON object)")
    blob = part.get("inlineData")
    if isinstance(blob, dict) and not (blob.get("mimeType") and blob.get("data")):
        out.append(f"{path}.inlineData: mimeType and data are required")
    fd = part.get("fileData")
    if isinstance(fd, dict) and not fd.get("fileUri"):
        out.append(f"{path}.fileData.fileUri: required")


def _content_rules(body: dict, out: list[str]) -> None:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        out.append("contents: required and not empty")
        return
    previous_calls: list[str] | None = None
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            continue
        role = content.get("role")
        if role not in ("user", "model"):
            out.append(f"contents[{i}].role: must be `user` or `model`, found {json.dumps(role)}")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            out.append(f"contents[{i}].parts: required and not empty")
            previous_calls = None
            continue
        for j, part in enumerate(parts):
            _part_rules(f"contents[{i}].parts[{j}]", part, role, out)
        calls = [p["functionCall"].get("name") for p in parts if isinstance(p, dict) and isinstance(p.get("functionCall"), dict)]
        responses = [p["functionResponse"].get("name") for p in parts if isinstance(p, dict) and isinstance(p.get("functionResponse"), dict)]
        if responses:
            if previous_calls is None:
                out.append(
                    f"contents[{i}]: function responses must follow a model turn with function calls"
                )
            elif len(responses) != len(previous_calls):
                out.append(
                    f"contents[{i}]: the number of function response parts ({len(responses)}) must "
                    f"equal the number of function call parts of the function call turn ({len(previous_calls)})"
                )
            elif sorted(responses) != sorted(previous_calls):
                out.append(
                    f"contents[{i}]: function responses {sorted(responses)} do not answer the calls "
                    f"{sorted(previous_calls)} of the function call turn"
                )
        if calls and i + 1 < len(contents):
            nxt = contents[i + 1]
            nxt_parts = nxt.get("parts") if isinstance(nxt, dict) else None
            if not (isinstance(nxt_parts, list) and any(isinstance(p, dict) and p.get("functionResponse") is not None for p in nxt_parts)):
                out.append(f"contents[{i + 1}]: a function call turn must be followed by its function responses")
        previous_calls = calls if calls else None
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        for j, part in enumerate(system.get("parts") or []):
            if not (isinstance(part, dict) and isinstance(part.get("text"), str) and len(part) == 1):
                out.append(f"systemInstruction.parts[{j}]: only text parts are allowed")


def _tool_rules(body: dict, out: list[str]) -> None:
    names: set[str] = set()
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict):
            continue
        for j, decl in enumerate(tool.get("functionDeclarations") or []):
            if not isinstance(decl, dict):
                continue
            path = f"tools[{i}].functionDeclarations[{j}]"
            name = decl.get("name")
            if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
                out.append(
                    f"{path}.name: {json.dumps(name)} must start with a letter or underscore and hold "
                    "only a-z, A-Z, 0-9, underscores, dots, colons and dashes (at most 64)"
                )
            elif name in names:
                out.append(f"{path}.name: duplicate function declaration `{name}`")
            else:
                names.add(name)
            if decl.get("parameters") is not None and decl.get("parametersJsonSchema") is not None:
                out.append(f"{path}: set either parameters or parametersJsonSchema, not both")
            schema = decl.get("parametersJsonSchema")
            if schema is not None and not (isinstance(schema, dict) and schema.get("type") == "object"):
                out.append(f"{path}.parametersJsonSchema: must be an object schema")
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    allowed = config.get("allowedFunctionNames")
    if allowed is not None:
        if config.get("mode") not in ("ANY", "VALIDATED"):
            out.append("toolConfig.functionCallingConfig.allowedFunctionNames: only with mode ANY")
        for name in allowed:
            if name not in names:
                out.append(
                    f"toolConfig.functionCallingConfig.allowedFunctionNames: `{name}` is not a declared function"
                )


def _generation_rules(body: dict, out: list[str]) -> None:
    config = body.get("generationConfig")
    if not isinstance(config, dict):
        return
    if config.get("responseJsonSchema") is not None:
        if config.get("responseSchema") is not None:
            out.append("generationConfig: set either responseSchema or responseJsonSchema, not both")
        if config.get("responseMimeType") != "application/json":
            out.append("generationConfig.responseJsonSchema: needs responseMimeType `application/json`")
    thinking = config.get("thinkingConfig")
    if isinstance(thinking, dict):
        if thinking.get("thinkingBudget") is not None and thinking.get("thinkingLevel") is not None:
            out.append("generationConfig.thinkingConfig: thinkingBudget and thinkingLevel cannot be used together")


def check_request(body: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    for key, value in body.items():
        tp = _REQUEST_FIELDS.get(key)
        if tp is None:
            out.append(f"{key}: unknown field of a generateContent request")
            continue
        _validate(key, tp, value, out)
    _content_rules(body, out)
    _tool_rules(body, out)
    _generation_rules(body, out)
    return out


def check_response(body: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    _validate("response", types.GenerateContentResponse, body, out)
    return out


def check(kind: str, payload: Any) -> list[str]:
    if kind == "gemini.request":
        return check_request(payload)
    if kind in ("gemini.response", "gemini.stream_chunk"):
        return check_response(payload)
    return [f"unknown kind {kind}"]


if __name__ == "__main__":
    # One JSON object per line: {"kind": ..., "payload": ...} -> {"errors": [...]}.
    import sys

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
            errors = check(message["kind"], message["payload"])
        except Exception as e:  # a broken message is reported, never fatal
            errors = [f"validator error: {type(e).__name__}: {e}"]
        sys.stdout.write(json.dumps({"errors": errors}) + "\n")
        sys.stdout.flush()

"""Validation of Anthropic Messages API bodies against the official `anthropic` package.

`check(kind, payload)` returns a list of problems (empty when the payload is valid):

- `anthropic.request`: a `POST /v1/messages` body, validated with pydantic's
  `TypeAdapter(MessageCreateParams)` in strict mode. Every TypedDict and model of
  `anthropic.types` is switched to `extra="forbid"` and `strict=True` first, so an unknown
  field or a wrongly typed value anywhere is a problem (the package's own models accept
  extra fields; the service does not). Lazily validated iterables are consumed. Then the
  rules the service enforces beyond the types: every `tool_use` of an assistant turn is
  answered by a `tool_result` in the next user turn (and nothing else answers), tool
  names, at most 4 cache breakpoints, and the extended-thinking rules (budget of at least
  1024 tokens and below `max_tokens`, no `temperature`/`top_k` change and no forced tool
  choice with thinking, and an assistant turn that calls tools while thinking is on starts
  with its thinking block).
- `anthropic.response`: a reply body, as `Message` (strict, no unknown fields).
- `anthropic.stream_event`: one `data:` payload of a stream: `RawMessageStreamEvent`, or a
  `ping`, or an `error` (`ErrorResponse`).
- `anthropic.error`: an error body, as `ErrorResponse`.
"""

import re
import sys
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import is_typeddict

import anthropic  # noqa: F401  (imports every type module)
import anthropic.types as types


def _forbid_extras() -> None:
    """Switches every type of the package to strict validation without extra fields."""
    models = []
    for mod in list(sys.modules.values()):
        if mod is None or not getattr(mod, "__name__", "").startswith("anthropic.types"):
            continue
        for obj in list(vars(mod).values()):
            if not isinstance(obj, type):
                continue
            if is_typeddict(obj) and "__pydantic_config__" not in obj.__dict__:
                obj.__pydantic_config__ = ConfigDict(extra="forbid", strict=True)
            elif issubclass(obj, BaseModel) and obj.__module__.startswith("anthropic.types"):
                obj.model_config["extra"] = "forbid"
                obj.model_config["strict"] = True
                models.append(obj)
    for model in models:
        model.model_rebuild(force=True)


_forbid_extras()
_REQUEST = TypeAdapter(types.MessageCreateParams)
_EVENT = TypeAdapter(types.RawMessageStreamEvent)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


def _consume(value: Any) -> Any:
    """Iterates lazily validated iterables, so that their items are validated too."""
    if isinstance(value, dict):
        return {k: _consume(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_consume(v) for v in value]
    if type(value).__name__ == "ValidatorIterator":
        return [_consume(v) for v in value]
    if isinstance(value, BaseModel):
        return _consume(dict(value))
    return value


def _errors(e: pydantic.ValidationError, limit: int = 8) -> list[str]:
    out = []
    for err in e.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"])
        out.append(f"{loc}: {err['msg']}")
    return out


def _blocks(message: dict) -> list:
    content = message.get("content")
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _rules(body: dict, out: list[str]) -> None:
    messages = body.get("messages") or []
    thinking = body.get("thinking") or {}
    thinking_on = thinking.get("type") == "enabled"
    # tool_use / tool_result pairing
    pending: set = set()
    last_assistant = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
        default=-1,
    )
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        blocks = _blocks(m)
        if m.get("role") == "assistant":
            if pending:
                out.append(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {sorted(pending)}"
                )
            pending = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
            calls = [b for b in blocks if b.get("type") == "tool_use"]
            if thinking_on and calls and blocks and blocks[0].get("type") not in (
                "thinking",
                "redacted_thinking",
            ):
                # The service requires the thinking block of the last assistant turn that
                # made calls when the conversation continues with their results.
                if i == last_assistant and i + 1 < len(messages):
                    out.append(
                        f"messages.{i}.content.0: expected `thinking` or `redacted_thinking`, "
                        "but found another block; when thinking is enabled, a final assistant "
                        "message with tool use must start with a thinking block"
                    )
        elif m.get("role") == "user":
            results = [b for b in blocks if b.get("type") == "tool_result"]
            answered = {b.get("tool_use_id") for b in results}
            for r in results:
                if r.get("tool_use_id") not in pending:
                    out.append(
                        f"messages.{i}: unexpected `tool_use_id` {r.get('tool_use_id')!r} in "
                        "`tool_result` blocks: each `tool_result` block must have a "
                        "corresponding `tool_use` block in the previous message"
                    )
            missing = pending - answered
            if missing:
                out.append(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {sorted(missing)}"
                )
            if results and blocks and blocks[0].get("type") != "tool_result":
                out.append(f"messages.{i}: `tool_result` blocks must come first in the content")
            pending = set()
    if pending:
        # The conversation ends with calls: only valid with a prefill, which this SDK never sends.
        out.append("the last message is an assistant turn with unanswered `tool_use` blocks")
    if messages and isinstance(messages[0], dict) and messages[0].get("role") != "user":
        out.append("messages.0: the first message must use the `user` role")
    for i, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and not _TOOL_NAME.match(str(tool.get("name", ""))):
            out.append(f"tools.{i}.name: must match ^[a-zA-Z0-9_-]{{1,128}}$")
    # cache breakpoints
    count = 0

    def walk(v: Any) -> None:
        nonlocal count
        if isinstance(v, dict):
            if isinstance(v.get("cache_control"), dict):
                count += 1
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk({k: v for k, v in body.items() if k != "cache_control"})
    if count > 4:
        out.append(f"a maximum of 4 blocks with cache_control may be provided. Found {count}")
    if thinking_on:
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int):
            if budget < 1024:
                out.append("thinking.budget_tokens: Input should be greater than or equal to 1024")
            if isinstance(body.get("max_tokens"), int) and budget >= body["max_tokens"]:
                out.append("`max_tokens` must be greater than `thinking.budget_tokens`")
        if body.get("temperature") not in (None, 1, 1.0):
            out.append("`temperature` may only be set to 1 when thinking is enabled")
        if body.get("top_k") is not None:
            out.append("`top_k` cannot be set when thinking is enabled")
        choice = body.get("tool_choice") or {}
        if choice.get("type") in ("any", "tool"):
            out.append("Thinking may not be enabled when tool_choice forces tool use")
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        names = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        if choice.get("name") not in names:
            out.append(f"tool_choice.name: no tool named {choice.get('name')!r}")
    if body.get("temperature") is not None and body.get("top_p") is not None:
        out.append("`temperature` and `top_p` cannot both be specified for this model")


def check_request(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    out: list[str] = []
    try:
        _consume(_REQUEST.validate_python(body))
    except pydantic.ValidationError as e:
        out.extend(_errors(e))
    _rules(body, out)
    return out


def _model(tp: Any, payload: Any) -> list[str]:
    try:
        tp.model_validate(payload)
        return []
    except pydantic.ValidationError as e:
        return _errors(e)


def check_event(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["an event must be a JSON object"]
    kind = payload.get("type")
    if kind == "ping":
        return [] if payload == {"type": "ping"} else ["ping: unexpected fields"]
    if kind == "error":
        return _model(types.ErrorResponse, payload)
    try:
        _EVENT.validate_python(payload)
        return []
    except pydantic.ValidationError as e:
        return _errors(e)


def check(kind: str, payload: Any) -> list[str]:
    if kind == "anthropic.request":
        return check_request(payload)
    if kind == "anthropic.response":
        return _model(types.Message, payload)
    if kind == "anthropic.stream_event":
        return check_event(payload)
    if kind == "anthropic.error":
        return _model(types.ErrorResponse, payload)
    return [f"unknown kind {kind}"]

"""One long-lived validator process for the testkit's mock servers.

Reads one JSON object per line on stdin, `{"kind": ..., "payload": ...}`, and answers one line
on stdout: `{"errors": [...]}` (empty when the payload is valid), or `{"unavailable": reason}`
when the package that validates this kind cannot be imported.

The part of `kind` before the first dot picks the module: `anthropic.*` ->
`anthropic_validate.py` (the official `anthropic` package), `gemini.*` ->
`gemini_validate.py` (`google-genai`). Each module has `check(kind, payload) -> list[str]`.
`{"kind": "<prefix>.ready"}` imports the module and answers `{"errors": []}` (or
`unavailable`). Modules are imported on first use, so a missing package only affects its kind.
"""

import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_MODULES = {"anthropic": "anthropic_validate", "gemini": "gemini_validate"}
_loaded: dict = {}


def _module(prefix: str):
    if prefix not in _loaded:
        name = _MODULES.get(prefix)
        if name is None:
            _loaded[prefix] = f"no validator for kinds `{prefix}.*`"
        else:
            try:
                _loaded[prefix] = importlib.import_module(name)
            except Exception as e:  # the package is missing or broken
                _loaded[prefix] = f"cannot import {name}: {type(e).__name__}: {e}"
    return _loaded[prefix]


def answer(message: dict) -> dict:
    kind = str(message.get("kind", ""))
    prefix, _, rest = kind.partition(".")
    module = _module(prefix)
    if isinstance(module, str):
        return {"unavailable": module}
    if rest == "ready":
        return {"errors": []}
    return {"errors": module.check(kind, message.get("payload"))}


def main() -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = answer(json.loads(line))
        except Exception as e:  # a broken message is reported, never fatal
            reply = {"errors": [f"validator error: {type(e).__name__}: {e}"]}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Renders chat-template cases with Python Jinja2 in the environment transformers builds
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its own tojson,
raise_exception, strftime_now, the {% generation %} tag): the behaviour Hearth must match.

    python3 python_oracle.py CASES.json > RESULTS.json

Same input and output format as jinja_oracle.cjs. Needs only the jinja2 package.
"""
import datetime
import json
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    # transformers' AssistantTracker marks assistant text for training masks; rendering is unchanged.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    year, month, day = data.get("date", [2024, 7, 26])
    now = datetime.datetime(year, month, day, 12, 0, 0)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: now.strftime(fmt)

    compiled = {}
    results = []
    for case in data["cases"]:
        try:
            template = compiled.get(case["template"])
            if template is None:
                template = env.from_string(case["template"])
                compiled[case["template"]] = template
            results.append({"ok": True, "text": template.render(**case["context"])})
        except Exception as e:  # noqa: BLE001 - every failure is a result to compare
            results.append({"ok": False, "error": str(e), "kind": type(e).__name__})
    sys.stdout.write(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()

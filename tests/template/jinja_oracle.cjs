// Reference renderer for the chat-template differential test: renders each case with
// @huggingface/jinja exactly as transformers.js would, and prints the results as JSON.
//
//   node jinja_oracle.cjs CASES.json > RESULTS.json
//   CASES.json: {"date": [2024, 7, 26], "cases": [{"template": "...", "context": {...}}, ...]}
//   RESULTS.json: [{"ok": true, "text": "..."} | {"ok": false, "error": "..."}, ...]
//
// strftime_now() reads `new Date()`: the clock is pinned to the given local date (noon), the
// same date the C++ side is given.
"use strict";
const fs = require("fs");
const path = require("path");

let jinja;
try {
    jinja = require(path.join(__dirname, "..", "node_modules", "@huggingface", "jinja"));
} catch (e) {
    process.stderr.write("@huggingface/jinja is missing: run `npm ci` in tests/\n");
    process.exit(3);
}

const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const [year, month, day] = input.date || [2024, 7, 26];
const RealDate = Date;
const pinned = new RealDate(year, month - 1, day, 12, 0, 0).getTime();
global.Date = class extends RealDate {
    constructor(...args) {
        if (args.length === 0) super(pinned);
        else super(...args);
    }
    static now() {
        return pinned;
    }
};

const compiled = new Map();
const results = input.cases.map((c) => {
    try {
        let t = compiled.get(c.template);
        if (!t) {
            t = new jinja.Template(c.template);
            compiled.set(c.template, t);
        }
        return { ok: true, text: t.render(c.context) };
    } catch (e) {
        return { ok: false, error: String(e && e.message ? e.message : e) };
    }
});
process.stdout.write(JSON.stringify(results));

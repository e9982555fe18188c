// Checks the AsyncAPI document of the bus with the official parser (@asyncapi/parser).
//
//   node scripts/check-asyncapi.mjs            # the document lianxin.asyncapi makes now
//   node scripts/check-asyncapi.mjs doc.json   # a document already written to a file
//
// Exits 1 printing every diagnostic of severity error (warnings are printed, not fatal),
// 2 when the document could not be made at all. PYTHON overrides the interpreter
// (default: .venv/bin/python of the repository).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import parserPackage from "@asyncapi/parser";

const { Parser, DiagnosticSeverity } = parserPackage;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAKE_DOCUMENT =
  "import json; from lianxin.asyncapi import asyncapi; print(json.dumps(asyncapi()))";

function documentText() {
  const file = process.argv[2];
  if (file) return readFileSync(file, "utf8");
  const python = process.env.PYTHON || join(root, ".venv", "bin", "python");
  try {
    return execFileSync(python, ["-c", MAKE_DOCUMENT], {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    console.error(`无法生成 AsyncAPI 文档（${python}）：${err.message}`);
    process.exit(2);
  }
}

function where(diagnostic) {
  const path = (diagnostic.path || []).join("/");
  return path ? `#/${path}` : "#";
}

const severityName = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "info",
  [DiagnosticSeverity.Hint]: "hint",
};

const { document, diagnostics } = await new Parser().parse(documentText());
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning) {
    console.log(`${severityName[d.severity]} ${d.code} ${where(d)}: ${d.message}`);
  }
}
if (errors.length || document === undefined) {
  console.error(`AsyncAPI 文档未通过官方解析器：${errors.length} 个错误`);
  process.exit(1);
}
console.log(`AsyncAPI 文档通过官方解析器（${diagnostics.length} 条提示，0 个错误）`);

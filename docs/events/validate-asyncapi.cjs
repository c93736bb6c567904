#!/usr/bin/env node
// Validates an AsyncAPI document with @asyncapi/parser (the parser of the AsyncAPI CLI and
// generator): the spec's JSON Schema, its Spectral ruleset, $refs to ../../schemas resolved
// from disk, every payload and header schema parsed. Warnings are printed; errors fail.
//   NODE_PATH=<dir>/node_modules node validate-asyncapi.cjs asyncapi.yaml
'use strict';
const fs = require('fs');
const path = require('path');
const { Parser, fromFile } = require('@asyncapi/parser');

async function main() {
  const file = path.resolve(process.argv[2] || 'asyncapi.yaml');
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, file).parse();
  const sev = ['error', 'warning', 'info', 'hint'];
  let errors = 0;
  for (const d of diagnostics) {
    if (d.severity === 0) errors++;
    if (d.severity <= 1) {
      console.log(`  ${sev[d.severity]} ${d.code} ${d.path.join('.')}: ${d.message}`);
    }
  }
  if (!document || errors > 0) {
    console.log(`AsyncAPI: ${path.basename(file)} INVALID (${errors} errors)`);
    process.exit(1);
  }
  const channels = document.channels().all().map((c) => c.address());
  const messages = document.allMessages().all().length;
  const version = JSON.parse(fs.readFileSync(require.resolve('@asyncapi/parser/package.json'))).version;
  console.log(`AsyncAPI ${document.version()}: ${path.basename(file)} valid (@asyncapi/parser ${version}); ` +
    `${channels.length} channels (${channels.join(', ')}), ${document.operations().all().length} operations, ` +
    `${messages} messages; ${diagnostics.filter((d) => d.severity === 1).length} warnings`);
}
main().catch((e) => { console.error(e); process.exit(1); });

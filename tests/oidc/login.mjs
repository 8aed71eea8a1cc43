#!/usr/bin/env node
// Command-line driver for the code flow in flow.mjs:
//
//   node tests/oidc/login.mjs --issuer URL --login xiamen-holder \
//     [--client intake-web] [--redirect http://127.0.0.1:8080/callback]
//
// Prints one JSON line: {"id_token":"...","access_token":"...","expires_in":N}

import { parseArgs } from 'node:util';

import { DEFAULT_CLIENT, DEFAULT_REDIRECT, login } from './flow.mjs';

const usage = 'usage: node tests/oidc/login.mjs --issuer URL --login NAME [--client ID] [--redirect URI]';

function fail(message) {
  process.stderr.write(`login.mjs: ${message}\n`);
  process.exit(1);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      issuer: { type: 'string' },
      login: { type: 'string' },
      client: { type: 'string', default: DEFAULT_CLIENT },
      redirect: { type: 'string', default: DEFAULT_REDIRECT },
      password: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail(`${err.message}\n${usage}`);
}
if (!values.issuer || !values.login) fail(`--issuer and --login are required\n${usage}`);

try {
  const tokens = await login(values);
  process.stdout.write(`${JSON.stringify(tokens)}\n`);
} catch (err) {
  fail(err.message);
}

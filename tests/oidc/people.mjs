// The sample people of tests/fixtures/people.json (shared with the Rust
// sandbox and the browser tests), keyed by login name (also `sub`), with the
// claim names of the default configuration.
import { readFileSync } from 'node:fs';

const { people } = JSON.parse(readFileSync(new URL('../fixtures/people.json', import.meta.url), 'utf8'));

export const PEOPLE = Object.fromEntries(
  people.map((p) => [p.key, {
    name: p.name, cert_type: p.certificate_type, cert_no: p.certificate_number, phone_number: p.mobile,
  }]),
);

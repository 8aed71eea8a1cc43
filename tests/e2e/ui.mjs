// Whether the scenarios that drive the widget's collection flow (steps, file parts, receipt) run.
// They do; INTAKE_E2E_UI=0 lists them as TODO instead (e.g. while bisecting a broken widget build),
// leaving the harness, the pages, sign-in and mounting tested.
import { test } from 'node:test';

export const UI_READY = process.env.INTAKE_E2E_UI !== '0';

/** A test that needs the widget's flow: run when UI_READY, else listed as TODO. */
export function scenario(name, fn) {
  if (UI_READY) return test(name, { timeout: 240_000 }, fn);
  return test.todo(`${name} (pending: the widget flow is not in the build yet)`);
}

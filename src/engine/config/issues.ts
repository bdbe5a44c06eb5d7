// Schema problems in the operator's words: `unknown engine "oracle"; expected one of postgres,
// mongodb, sqlite` rather than the validator's own vocabulary.
import { hasControls, quotedVisible } from '../control-chars.js';

export interface ConfigIssue {
  path: string;
  message: string;
}

/** The fields of a zod issue this phrasing reads (zod 4). */
export interface SchemaIssue {
  code: string;
  path: ReadonlyArray<PropertyKey>;
  message: string;
  expected?: string;
  values?: readonly unknown[];
  keys?: readonly string[];
  options?: readonly unknown[];
  discriminator?: string;
  maximum?: number | bigint;
  minimum?: number | bigint;
  origin?: string;
}

/** A key with control characters (a terminal escape hidden in a store's name) is shown quoted and escaped, never as is. */
function issuePath(parts: ReadonlyArray<PropertyKey>): string {
  const shown = (part: string) => (hasControls(part) || /[\n\t]/.test(part) ? quotedVisible(part) : part);
  return parts.length === 0 ? '(root)' : parts.map((part) => shown(String(part))).join('.');
}

function valueAt(raw: unknown, parts: ReadonlyArray<PropertyKey>): unknown {
  let value = raw;
  for (const part of parts) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  return `${typeof value === 'number' ? 'the number' : typeof value} ${String(value)}`;
}

const list = (values: readonly unknown[]) => values.map((value) => String(value)).join(', ');

/** One schema issue as a path and a message an operator can act on. */
export function describeIssue(issue: SchemaIssue, raw: unknown): ConfigIssue {
  const path = issuePath(issue.path);
  const given = valueAt(raw, issue.path);
  switch (issue.code) {
    case 'invalid_union':
      if (issue.discriminator && issue.options) {
        const field = issue.discriminator;
        return given === undefined
          ? { path, message: `is missing; say which ${field} this is: one of ${list(issue.options)}` }
          : { path, message: `unknown ${field} ${JSON.stringify(given)}; expected one of ${list(issue.options)}` };
      }
      return { path, message: 'does not match any of the accepted forms' };
    case 'invalid_value':
      return {
        path,
        message: `${given === undefined ? 'is missing' : `${JSON.stringify(given)} is not accepted`}; expected one of ${list(issue.values ?? [])}`,
      };
    case 'invalid_type':
      return given === undefined
        ? { path, message: `is missing (expected ${issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`})` }
        : { path, message: `expected ${issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}, got ${kindOf(given)}` };
    case 'unrecognized_keys': {
      const keys = issue.keys ?? [];
      return { path, message: `unknown key${keys.length === 1 ? '' : 's'} ${keys.map((key) => JSON.stringify(key)).join(', ')} (check the spelling)` };
    }
    case 'too_big':
      return { path, message: `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}` };
    case 'too_small':
      return issue.origin === 'string' && Number(issue.minimum) === 1
        ? { path, message: 'must not be empty' }
        : { path, message: `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : ''}` };
    default:
      return { path, message: issue.message };
  }
}

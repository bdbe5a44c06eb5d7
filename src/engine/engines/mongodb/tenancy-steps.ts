// MongoDB tenant migrations: a declarative JSON form (no code runs), an array of steps, each an
// object with exactly one key naming its kind. Every step is idempotent on its own (a collection
// is created when absent, an index by name, a field renamed only where it still has its old name,
// a default set only where the field is missing): MongoDB without a replica set (and FerretDB)
// has no transactions, so a step cut short is run again whole, and that must change nothing more.
import type { Db, Document } from 'mongodb';
import type { TenantMigration } from '../spec.js';
import { StorageError } from '../../errors.js';

export type MigrationStep =
  | { createCollection: string }
  | { createIndex: { collection: string; keys: Record<string, 1 | -1>; name: string; unique?: boolean } }
  | { dropIndex: { collection: string; name: string } }
  | { renameField: { collection: string; from: string; to: string } }
  | { setDefault: { collection: string; field: string; value: unknown } };

export const ALLOWED_STEPS = [
  '{"createCollection": "items"}',
  '{"createIndex": {"collection": "items", "keys": {"name": 1}, "name": "items_name", "unique": false}}',
  '{"dropIndex": {"collection": "items", "name": "items_name"}}',
  '{"renameField": {"collection": "items", "from": "old", "to": "new"}}',
  '{"setDefault": {"collection": "items", "field": "price", "value": 0}}',
];

const HINT = `A MongoDB migration is a JSON array of steps, each one of: ${ALLOWED_STEPS.join(', ')} ("unique" is optional; keys are 1 or -1).`;

/** Fields of each step kind: required, then optional. */
const FIELDS: Record<string, { required: string[]; optional: string[] }> = {
  createIndex: { required: ['collection', 'keys', 'name'], optional: ['unique'] },
  dropIndex: { required: ['collection', 'name'], optional: [] },
  renameField: { required: ['collection', 'from', 'to'], optional: [] },
  setDefault: { required: ['collection', 'field', 'value'], optional: [] },
};

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why a collection name cannot be used, or undefined. */
function collectionProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'a collection is a non-empty string';
  if (name.includes('$') || name.includes('\0')) return `collection "${name}" holds $ or NUL, which MongoDB refuses`;
  if (name.startsWith('system.')) return `collection "${name}": names starting with system. belong to the server`;
  // A namespace (database.collection) is at most 255 bytes; a tenant database is at most 63.
  if (Buffer.byteLength(name) > 190) return `collection "${name.slice(0, 20)}…" is over 190 bytes`;
  return undefined;
}

/** Why a field path cannot be used, or undefined: dotted paths reach into embedded documents. */
function fieldProblem(path: unknown, what: string): string | undefined {
  if (typeof path !== 'string' || path === '') return `${what} is a non-empty string`;
  if (path.split('.').some((part) => part === '' || part.startsWith('$'))) return `${what} "${path}" has an empty part or one starting with $`;
  if (path.includes('\0')) return `${what} "${path}" holds NUL`;
  if (path === '_id' || path.startsWith('_id.')) return `${what} "${path}": _id cannot be renamed or defaulted`;
  return undefined;
}

/** Why a value cannot be stored as given, or undefined (no key starting with $ or holding a dot, at any depth). */
function valueProblem(value: unknown, at = 'value'): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = valueProblem(item, `${at}[${i}]`);
      if (problem) return problem;
    }
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('.')) return `${at} has the key "${key}" (keys must not start with $ or hold a dot)`;
      const problem = valueProblem(item, `${at}.${key}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

function stepProblem(step: unknown): string | undefined {
  if (!isPlainObject(step)) return 'a step is an object with one key, its kind';
  const kinds = Object.keys(step);
  if (kinds.length !== 1) return `a step has exactly one key (its kind), this one has ${kinds.length ? kinds.map((k) => `"${k}"`).join(', ') : 'none'}`;
  const kind = kinds[0];
  const body = step[kind];
  if (kind === 'createCollection') return collectionProblem(body);
  const fields = FIELDS[kind];
  if (!fields) return `unknown step "${kind}"`;
  if (!isPlainObject(body)) return `${kind} takes an object with ${fields.required.join(', ')}`;
  const unknown = Object.keys(body).filter((key) => !fields.required.includes(key) && !fields.optional.includes(key));
  if (unknown.length)
    return `${kind} has no field ${unknown.map((k) => `"${k}"`).join(', ')} (it takes ${[...fields.required, ...fields.optional].join(', ')})`;
  const missing = fields.required.filter((key) => !(key in body));
  if (missing.length) return `${kind} lacks ${missing.map((k) => `"${k}"`).join(', ')}`;
  const problem = collectionProblem(body.collection);
  if (problem) return problem;
  switch (kind) {
    case 'createIndex': {
      if (!isPlainObject(body.keys) || Object.keys(body.keys).length === 0) return 'createIndex keys is an object such as {"name": 1}';
      for (const [field, direction] of Object.entries(body.keys)) {
        if (field.split('.').some((part) => part === '' || part.startsWith('$')) || field.includes('\0'))
          return `createIndex key "${field}" has an empty part, one starting with $, or NUL`;
        if (direction !== 1 && direction !== -1) return `createIndex key "${field}" is ${JSON.stringify(direction)}, not 1 or -1`;
      }
      if (typeof body.name !== 'string' || body.name === '' || body.name === '_id_') return 'createIndex name is a non-empty string other than _id_';
      if ('unique' in body && typeof body.unique !== 'boolean') return 'createIndex unique is true or false';
      return undefined;
    }
    case 'dropIndex':
      return typeof body.name !== 'string' || body.name === '' || body.name === '_id_' ? 'dropIndex name is a non-empty string other than _id_' : undefined;
    case 'renameField': {
      const problem = fieldProblem(body.from, 'renameField from') ?? fieldProblem(body.to, 'renameField to');
      if (problem) return problem;
      const [from, to] = [body.from as string, body.to as string];
      if (from === to || to.startsWith(`${from}.`) || from.startsWith(`${to}.`)) return `renameField from "${from}" and to "${to}" overlap`;
      return undefined;
    }
    case 'setDefault':
      return fieldProblem(body.field, 'setDefault field') ?? valueProblem(body.value);
  }
  return undefined;
}

/** The steps of a migration file, or a StorageError naming the file and the step (counted from 1). */
export function parseSteps(migration: TenantMigration): MigrationStep[] {
  const file = `${migration.name}.json`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(migration.body);
  } catch (error) {
    throw new StorageError('CONFIG_INVALID', `Migration ${file} is not JSON: ${(error as Error).message}.`, { hint: HINT, details: { file } });
  }
  if (!Array.isArray(parsed)) throw new StorageError('CONFIG_INVALID', `Migration ${file} is not a JSON array of steps.`, { hint: HINT, details: { file } });
  for (const [index, step] of parsed.entries()) {
    const problem = stepProblem(step);
    if (problem)
      throw new StorageError('CONFIG_INVALID', `Migration ${file}, step ${index + 1} of ${parsed.length}: ${problem}. Nothing was applied.`, {
        hint: HINT,
        details: { file, step: index + 1 },
      });
  }
  return parsed as MigrationStep[];
}

const codeOf = (error: unknown) => (error as { code?: unknown })?.code;
/** NamespaceExists, IndexNotFound, NamespaceNotFound. */
const NAMESPACE_EXISTS = 48;
const INDEX_NOT_FOUND = 27;
const NAMESPACE_NOT_FOUND = 26;

/** Runs one step in a tenant's database; running it again changes nothing more. */
export async function runStep(db: Db, step: MigrationStep): Promise<void> {
  if ('createCollection' in step) {
    await db.createCollection(step.createCollection).catch((error) => {
      if (codeOf(error) !== NAMESPACE_EXISTS) throw error;
    });
  } else if ('createIndex' in step) {
    const { collection, keys, name, unique } = step.createIndex;
    await db.collection(collection).createIndex(keys, { name, ...(unique === undefined ? {} : { unique }) });
  } else if ('dropIndex' in step) {
    const { collection, name } = step.dropIndex;
    await db
      .collection(collection)
      .dropIndex(name)
      .catch((error) => {
        if (codeOf(error) !== INDEX_NOT_FOUND && codeOf(error) !== NAMESPACE_NOT_FOUND) throw error;
      });
  } else if ('renameField' in step) {
    const { collection, from, to } = step.renameField;
    await db.collection(collection).updateMany({ [from]: { $exists: true } }, { $rename: { [from]: to } });
  } else {
    const { collection, field, value } = step.setDefault;
    await db.collection(collection).updateMany({ [field]: { $exists: false } }, { $set: { [field]: value as Document[string] } });
  }
}

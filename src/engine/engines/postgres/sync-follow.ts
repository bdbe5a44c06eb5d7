// Follow mode on a PostgreSQL source: logical decoding through a replication slot the tool makes
// for the job (plugin test_decoding, shipped with PostgreSQL), streamed over a replication
// connection (START_REPLICATION), so changes arrive as they commit and deletes are seen too. The
// slot is told a position is done (flushed) only after the target committed it: a killed follow
// resumes from the slot and replays at most the batch it was applying (apply is idempotent).
import type { Client } from 'pg';
import type { PostgresProvider } from './provider.js';
import { quoteIdent } from './provider.js';
import { CHECKPOINTS, canonicalize, cast, encodeCheckpoint, ensureCheckpoints, open, parameter, qualified, selectExpression } from './sync.js';
import type { SyncApply, SyncChange, SyncChangeBatch, SyncColumn, SyncFeedReader, SyncFollowCapability, SyncRow, SyncTableShape, SyncValue } from '../spec.js';
import { StorageError } from '../../errors.js';
import { withUrlParts } from '../../config/store-url.js';

const PLUGIN = 'test_decoding';

/** The job's slot: `storage_sync_` + the job name folded to [a-z0-9_] + a hash of the exact name, within NAMEDATALEN. */
export function slotName(job: string): string {
  let hash = 2166136261;
  for (const char of job) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  const folded = job
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 36);
  return `storage_sync_${folded}${folded ? '_' : ''}${hash.toString(36)}`;
}

async function refuseUnlessLogical(client: Client, store: string): Promise<void> {
  const { wal_level: level } = (await client.query('show wal_level')).rows[0];
  if (level !== 'logical')
    throw new StorageError('REFUSED', `Store "${store}" runs with wal_level = ${level}: following its changes needs logical decoding (wal_level = logical).`, {
      hint: `Set wal_level = logical on the source (ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL; max_replication_slots needs one free slot), or run \`storage sync run\` without --follow on a schedule. Nothing was written.`,
      details: { setting: 'wal_level', value: level, needed: 'logical' },
    });
}

/** Deletes must carry the job's key: the table's replica identity has to cover it. */
async function refuseUnlessKeyLogged(client: Client, store: string, table: string, key: string[]): Promise<void> {
  const row = (
    await client.query(
      `select c.relreplident::text as identity,
              coalesce((select array_agg(a.attname::text order by array_position(i.indkey::int2[], a.attnum))
                        from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                        where i.indrelid = c.oid and ((c.relreplident = 'd' and i.indisprimary) or (c.relreplident = 'i' and i.indisreplident))), '{}') as columns
       from pg_class c where c.oid = to_regclass($1)`,
      [qualified(table)],
    )
  ).rows[0];
  if (!row) return;
  if (row.identity === 'f') return;
  const logged = row.columns as string[];
  if (key.every((name) => logged.includes(name))) return;
  throw new StorageError(
    'REFUSED',
    `${table} on "${store}" logs ${row.identity === 'n' ? 'no key' : `(${logged.join(', ')})`} with its deletes and updates, not the job's key (${key.join(', ')}).`,
    { hint: `Key the job by the primary key, or run ALTER TABLE ${qualified(table)} REPLICA IDENTITY FULL on the source.` },
  );
}

function lsnText(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Microseconds since 2000-01-01, the replication protocol's clock. */
function protocolNow(): bigint {
  return BigInt(Date.now() - 946_684_800_000) * 1000n;
}

/** One tuple of a test_decoding line: column name → the value's text (null for NULL, undefined for an unchanged TOAST value). */
type Tuple = Map<string, string | null | undefined>;

/**
 * Parses `name[type]:value …` as test_decoding prints it: names quoted like identifiers ("a""b"),
 * values as literals ('it''s'), bare (numbers, booleans), `null`, or `unchanged-toast-datum`.
 */
export function parseTuple(text: string, from = 0): { tuple: Tuple; end: number } {
  const tuple: Tuple = new Map();
  let at = from;
  for (;;) {
    while (text[at] === ' ') at++;
    if (at >= text.length || text.startsWith('new-tuple:', at) || text.startsWith('old-key:', at)) break;
    let name: string;
    if (text[at] === '"') {
      let end = at + 1;
      name = '';
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote < 0) throw new Error(`unterminated column name in ${text}`);
        name += text.slice(end, quote);
        if (text[quote + 1] === '"') {
          name += '"';
          end = quote + 2;
        } else {
          at = quote + 1;
          break;
        }
      }
    } else {
      const bracket = text.indexOf('[', at);
      name = text.slice(at, bracket);
      at = bracket;
    }
    const typeEnd = text.indexOf(']:', at);
    if (text[at] !== '[' || typeEnd < 0) throw new Error(`cannot read the column type in ${text.slice(at, at + 80)}`);
    at = typeEnd + 2;
    if (text.startsWith('null', at) && (text[at + 4] === ' ' || at + 4 === text.length)) {
      tuple.set(name, null);
      at += 4;
    } else if (text.startsWith('unchanged-toast-datum', at)) {
      tuple.set(name, undefined);
      at += 'unchanged-toast-datum'.length;
    } else if (text[at] === "'" || (text[at] === 'B' && text[at + 1] === "'")) {
      if (text[at] === 'B') at++;
      let value = '';
      let end = at + 1;
      for (;;) {
        const quote = text.indexOf("'", end);
        if (quote < 0) throw new Error(`unterminated value in ${text.slice(0, 120)}`);
        value += text.slice(end, quote);
        if (text[quote + 1] === "'") {
          value += "'";
          end = quote + 2;
        } else {
          at = quote + 1;
          break;
        }
      }
      tuple.set(name, value);
    } else {
      const space = text.indexOf(' ', at);
      const end = space < 0 ? text.length : space;
      tuple.set(name, text.slice(at, end));
      at = end;
    }
  }
  return { tuple, end: at };
}

interface Pending {
  xid: string;
  /** Some upsert carries no row: it is read again once this transaction is visible. */
  refetch: boolean;
  changes: SyncChange[];
  position: string;
  committedAt: string | null;
}

/** Reads one table's changes from a test_decoding stream, a line per message. */
class ChangeDecoder {
  private readonly prefix: string;
  private open: SyncChange[] | undefined;
  private xid = '';

  constructor(
    relation: string,
    private readonly table: string,
    private readonly columns: SyncColumn[],
    private readonly key: string[],
  ) {
    this.prefix = `table ${relation}: `;
  }

  /** A line of output; a whole transaction when the line is its COMMIT. */
  line(data: string, lsn: string): Pending | undefined {
    if (data === 'BEGIN' || data.startsWith('BEGIN ')) {
      this.open = [];
      this.xid = data.slice(6).trim();
      return undefined;
    }
    if (data.startsWith('COMMIT')) {
      const at = /\(at (.+)\)/.exec(data)?.[1];
      const changes = this.open ?? [];
      this.open = undefined;
      return {
        xid: this.xid,
        refetch: changes.some((change) => change.kind === 'upsert' && !change.row),
        changes,
        position: lsn,
        committedAt: at
          ? new Date(
              Date.parse(
                at
                  .replace(' ', 'T')
                  .replace(/(\.\d{3})\d*/, '$1')
                  .replace(/([+-]\d\d)$/, '$1:00'),
              ),
            ).toISOString()
          : null,
      };
    }
    if (!data.startsWith(this.prefix)) return undefined;
    const rest = data.slice(this.prefix.length);
    const colon = rest.indexOf(': ');
    const action = colon < 0 ? rest.replace(/:$/, '') : rest.slice(0, colon);
    const body = colon < 0 ? '' : rest.slice(colon + 2);
    (this.open ??= []).push(...this.changesOf(action, body));
    return undefined;
  }

  private changesOf(action: string, body: string): SyncChange[] {
    if (action === 'TRUNCATE')
      throw new StorageError('REFUSED', `${this.table} was truncated at the source; follow mode applies changes by key and does not truncate the target.`, {
        hint: 'Stop here: `storage sync reset JOB` (drops the slot), then `storage sync run JOB --confirm JOB` in mirror mode (or truncate the target yourself) and follow again.',
      });
    if (body.startsWith('(no-tuple-data)'))
      throw new StorageError('REFUSED', `A ${action.toLowerCase()} on ${this.table} was logged without its key.`, {
        hint: `Set the table's replica identity (ALTER TABLE ${qualified(this.table)} REPLICA IDENTITY FULL) and follow again.`,
      });
    let oldKey: SyncValue[] | undefined;
    let text = body;
    if (text.startsWith('old-key:')) {
      const { tuple, end } = parseTuple(text, 'old-key:'.length);
      oldKey = this.keyOf(tuple);
      text = text.slice(end).replace(/^\s*new-tuple:/, '');
    }
    const { tuple } = parseTuple(text);
    if (action === 'DELETE') return [{ kind: 'delete', key: this.keyOf(tuple) }];
    const key = this.keyOf(tuple);
    const changes: SyncChange[] = [];
    if (oldKey && oldKey.some((value, i) => canonicalText(value) !== canonicalText(key[i]))) changes.push({ kind: 'delete', key: oldKey });
    // Arrays print as PostgreSQL literals, and an unchanged large value is not printed at all: such a row is read again.
    const whole = this.columns.every((column) => tuple.has(column.name) && tuple.get(column.name) !== undefined && !column.native.endsWith('[]'));
    if (!whole) changes.push({ kind: 'upsert', key });
    else {
      const row: SyncRow = {};
      for (const column of this.columns) row[column.name] = canonicalize(this.table, column, tuple.get(column.name) as string | null, () => key);
      changes.push({ kind: 'upsert', key, row });
    }
    return changes;
  }

  private keyOf(tuple: Tuple): SyncValue[] {
    return this.key.map((name) => {
      const column = this.columns.find((c) => c.name === name)!;
      const text = tuple.get(name);
      if (text === undefined)
        throw new StorageError('REFUSED', `A change of ${this.table} was logged without its key column ${name}.`, { hint: 'Key the job by the primary key.' });
      return canonicalize(this.table, column, text, () => []);
    });
  }
}

function canonicalText(value: SyncValue): string {
  return typeof value === 'bigint' ? `${value}n` : Buffer.isBuffer(value) ? value.toString('hex') : JSON.stringify(value);
}

/** A streaming replication connection reading the slot, with whole transactions queued until read. */
async function streamReader(
  provider: PostgresProvider,
  slot: string,
  decoder: ChangeDecoder,
  database: string | undefined,
  fetchRows: (keys: SyncValue[][], xids: string[]) => Promise<SyncRow[]>,
  closeFetcher: () => Promise<void>,
): Promise<SyncFeedReader> {
  const { default: pg } = await import('pg');
  const url = (provider.store.config as { url: string }).url;
  const password = await provider.loginPassword();
  const client = new pg.Client({
    connectionString: withUrlParts(url, { password, database }),
    replication: 'database',
    connectionTimeoutMillis: provider.store.connectTimeoutMs,
    application_name: `storage-sync-follow`,
    // Values are printed by the walsender in its own session: the same settings the copy reads with.
    options: '-c timezone=UTC -c datestyle=ISO -c bytea_output=hex -c extra_float_digits=3',
  } as ConstructorParameters<typeof pg.Client>[0]);
  client.on('error', () => undefined);
  await client.connect();
  const ready: Pending[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let received = 0n;
  let lastCommit = 0n;
  let confirmed = 0n;
  // Transactions of the batch last read whose rows are read again: they must be visible first.
  let toSee: string[] = [];
  let idleEnd = 0n;
  let inTransaction = false;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const status = (reply = false) => {
    if (failure) return;
    // Nothing received and unapplied: the stream's end (a keepalive's position) is done too, so the slot never holds WAL of other work.
    const flushed = ready.length === 0 && !inTransaction && lastCommit <= confirmed && idleEnd > confirmed ? idleEnd : confirmed;
    const message = Buffer.alloc(34);
    message.write('r', 0);
    message.writeBigUInt64BE(received > flushed ? received : flushed, 1);
    message.writeBigUInt64BE(flushed, 9);
    message.writeBigUInt64BE(flushed, 17);
    message.writeBigUInt64BE(protocolNow(), 25);
    message.writeUInt8(reply ? 1 : 0, 33);
    (client as unknown as { connection: { sendCopyFromChunk(chunk: Buffer): void } }).connection.sendCopyFromChunk(message);
  };
  const stream = {
    text: `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL 0/0 ("include-xids" '1', "include-timestamp" '1', "skip-empty-xacts" '1')`,
    submit(connection: { query(text: string): void }) {
      connection.query(this.text);
    },
    handleCopyData(message: { chunk: Buffer }) {
      const chunk = message.chunk;
      try {
        if (chunk[0] === 0x77) {
          const lsn = chunk.readBigUInt64BE(1);
          if (lsn > received) received = lsn;
          const data = chunk.subarray(25).toString('utf8');
          if (data.startsWith('BEGIN')) inTransaction = true;
          const whole = decoder.line(data, lsnText(lsn));
          if (whole) {
            inTransaction = false;
            lastCommit = lsn;
            ready.push(whole);
            notify();
          }
        } else if (chunk[0] === 0x6b) {
          const end = chunk.readBigUInt64BE(1);
          if (end > idleEnd) idleEnd = end;
          if (chunk[17] === 1) status();
        }
      } catch (error) {
        failure = error as Error;
        notify();
      }
    },
    handleError(error: Error) {
      failure ??= error;
      notify();
    },
    handleReadyForQuery() {
      failure ??= new Error('the server ended the replication stream');
      notify();
    },
    handleCommandComplete() {},
    handleRowDescription() {},
    handleDataRow() {},
    handleEmptyQuery() {},
    handlePortalSuspended() {},
    handleCopyInResponse() {},
  };
  void (client.query(stream as never) as unknown as Promise<unknown> | undefined)?.catch?.(() => undefined);
  const ticker = setInterval(() => status(), 5000);
  const lost = (error: Error) =>
    error instanceof StorageError
      ? error
      : new StorageError('UNREACHABLE', `The replication stream of slot ${slot} ended: ${error.message}`, {
          hint: `The slot is kept, so nothing is lost: run the same \`storage sync run … --follow\` again to resume from it (\`storage sync reset JOB\` drops it).`,
          cause: error,
        });
  return {
    async read(limit, waitMs) {
      if (ready.length === 0 && !failure) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, waitMs);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      if (ready.length === 0) {
        if (failure) throw lost(failure);
        return undefined;
      }
      const batch: SyncChangeBatch = { changes: [], position: '', transactions: 0, committedAt: null };
      toSee = [];
      while (ready.length > 0 && (batch.transactions === 0 || batch.changes.length + ready[0].changes.length <= limit)) {
        const next = ready.shift()!;
        batch.changes.push(...next.changes);
        batch.position = next.position;
        batch.committedAt = next.committedAt;
        batch.transactions++;
        if (next.refetch) toSee.push(next.xid);
      }
      return batch;
    },
    fetch: (keys) => fetchRows(keys, toSee),
    async confirm(position) {
      const [high, low] = position.split('/');
      const value = (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
      if (value > confirmed) confirmed = value;
      status();
    },
    async close() {
      clearInterval(ticker);
      if (!failure) status();
      failure ??= new Error('closed');
      await client.end().catch(() => undefined);
      await closeFetcher();
    },
  };
}

/**
 * Waits until these transactions are visible to new snapshots: the walsender sends a commit once
 * it is in the WAL, a moment before the committing backend leaves the proc array, and a row read
 * in that moment would be missing or old. (32-bit xids from the stream, widened with xmax's epoch; one just past xmax is
 * still finishing, not from the last epoch.)
 */
async function visible(client: Client, xids: string[]): Promise<void> {
  if (xids.length === 0) return;
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query(
      `select bool_and(pg_visible_in_snapshot(
                (((pg_snapshot_xmax(s)::text::int8 >> 32) - case when x - (pg_snapshot_xmax(s)::text::int8 & 4294967295) > 2147483648 then 1 else 0 end) << 32 | x)::text::xid8, s)) as seen
       from (select pg_current_snapshot() as s) snap, unnest($1::int8[]) as x`,
      [xids],
    );
    if (rows[0].seen || attempt >= 500) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function relationOf(client: Client, table: string): Promise<string> {
  const row = (
    await client.query(
      `select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass($1)`,
      [qualified(table)],
    )
  ).rows[0];
  if (!row) throw new StorageError('NOT_FOUND', `The source has no table ${table}.`, { hint: "Check the job's from.table." });
  return row.name;
}

export const postgresFollow: SyncFollowCapability<PostgresProvider> = {
  method: `logical decoding (slot, ${PLUGIN}, streamed)`,

  async check(provider, table, key, database) {
    const client = await open(provider, database);
    try {
      await refuseUnlessLogical(client, provider.store.name);
      await refuseUnlessKeyLogged(client, provider.store.name, table, key);
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  feedName: slotName,

  async feedState(provider, job, database) {
    const client = await open(provider, database);
    try {
      const row = (
        await client.query(
          `select active, confirmed_flush_lsn::text as confirmed, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8::text as retained
           from pg_replication_slots where slot_name = $1`,
          [slotName(job)],
        )
      ).rows[0];
      if (!row) return undefined;
      return {
        name: slotName(job),
        active: row.active,
        confirmed: row.confirmed ?? undefined,
        ...(row.retained !== null ? { retainedBytes: Number(row.retained) } : {}),
      };
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async openFeed(provider, job, database) {
    const client = await open(provider, database);
    try {
      await client.query(`select pg_create_logical_replication_slot($1, $2)`, [slotName(job), PLUGIN]);
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new StorageError('REFUSED', `Could not create the replication slot ${slotName(job)} on "${provider.store.name}": ${(error as Error).message}`, {
        hint:
          code === '53400'
            ? 'Every replication slot is taken: raise max_replication_slots (restart) or drop a slot nobody uses (SELECT pg_drop_replication_slot(name)).'
            : 'Following needs a role with REPLICATION (or superuser) on the source.',
        cause: error,
      });
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async reader(provider, job, table, shape: SyncTableShape, key, database) {
    const setup = await open(provider, database);
    let relation: string;
    try {
      relation = await relationOf(setup, table);
    } catch (error) {
      await setup.end().catch(() => undefined);
      throw error;
    }
    const columns = shape.columns;
    // A plain connection beside the stream, for rows the stream did not carry whole.
    const fetchRows = async (keys: SyncValue[][], xids: string[]): Promise<SyncRow[]> => {
      if (keys.length === 0) return [];
      await visible(setup, xids);
      const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
      const select = columns.map((column, i) => `${selectExpression(column)} as c${i}`).join(', ');
      const arrays = keyColumns.map((column, i) => `$${i + 1}::${cast(column)}[]`);
      const names = keyColumns.map((column) => quoteIdent(column.name));
      const result = await setup.query({
        text: `select ${select} from ${qualified(table)} t where (${names.map((n) => `t.${n}`).join(', ')}) in (select * from unnest(${arrays.join(', ')}))`,
        values: keyColumns.map((column, i) => keys.map((values) => parameter(values[i], column))),
        rowMode: 'array',
      });
      return result.rows.map((raw: (string | null)[]) => {
        const row: SyncRow = {};
        columns.forEach((column, i) => {
          row[column.name] = canonicalize(table, column, raw[i], () => []);
        });
        return row;
      });
    };
    return streamReader(provider, slotName(job), new ChangeDecoder(relation, table, columns, key), database, fetchRows, async () => {
      await setup.end().catch(() => undefined);
    });
  },

  async dropFeed(provider, job, database) {
    const client = await open(provider, database);
    try {
      // A walsender that just lost its client may hold the slot for a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          const dropped = await client.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1`, [slotName(job)]);
          return (dropped.rowCount ?? 0) > 0;
        } catch (error) {
          if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};

/** One connection per provider and database for a follow's writes, closed with the provider's pool. */
const writers = new WeakMap<PostgresProvider, Map<string, Promise<Client>>>();

async function writer(provider: PostgresProvider, database?: string): Promise<Client> {
  let byDatabase = writers.get(provider);
  if (!byDatabase) {
    byDatabase = new Map();
    writers.set(provider, byDatabase);
    provider.onClose(async () => {
      for (const client of byDatabase!.values()) await (await client).end().catch(() => undefined);
    });
  }
  let client = byDatabase.get(database ?? '');
  if (!client) {
    client = (async () => {
      const opened = await open(provider, database);
      await ensureCheckpoints(opened);
      return opened;
    })();
    byDatabase.set(database ?? '', client);
  }
  return client;
}

/**
 * A follow batch into PostgreSQL as one statement (one round trip, one implicit transaction):
 * deletes, upserts from column arrays, and the checkpoint, as data-modifying CTEs. The keys of
 * the deletes and the upserts are disjoint (the batch keeps each key's last change).
 */
export async function applyChanges(provider: PostgresProvider, batch: SyncApply, database?: string): Promise<void> {
  const client = await writer(provider, database);
  const params: unknown[] = [];
  const array = (values: (string | null)[], column: SyncColumn) => {
    params.push(values);
    return `$${params.length}::${cast(column)}[]`;
  };
  const table = qualified(batch.table);
  const keyColumns = batch.key.map((name) => batch.columns.find((c) => c.name === name)!);
  const keyNames = keyColumns.map((column) => quoteIdent(column.name));
  const parts: string[] = [];
  if (batch.deletes?.length) {
    const arrays = keyColumns.map((column, i) =>
      array(
        batch.deletes!.map((values) => parameter(values[i], column)),
        column,
      ),
    );
    parts.push(
      `gone as (delete from ${table} t using unnest(${arrays.join(', ')}) as g(${keyNames.join(', ')}) where ${keyNames.map((name) => `t.${name} = g.${name}`).join(' and ')})`,
    );
  }
  if (batch.rows.length) {
    const names = batch.columns.map((column) => quoteIdent(column.name));
    const arrays = batch.columns.map((column) =>
      array(
        batch.rows.map((row) => parameter(row[column.name] ?? null, column)),
        column,
      ),
    );
    const updates = batch.columns.filter((c) => !batch.key.includes(c.name)).map((c) => `${quoteIdent(c.name)} = excluded.${quoteIdent(c.name)}`);
    parts.push(
      `put as (insert into ${table} (${names.join(', ')}) select * from unnest(${arrays.join(', ')}) on conflict (${keyNames.join(', ')}) do ${updates.length ? `update set ${updates.join(', ')}` : 'nothing'})`,
    );
  }
  const checkpoint = batch.checkpoint;
  if (!checkpoint) throw new Error('a follow batch carries its checkpoint');
  params.push(checkpoint.job, encodeCheckpoint(checkpoint));
  const mark = `insert into ${CHECKPOINTS} (job, checkpoint, updated_at) values ($${params.length - 1}, $${params.length}, now()) on conflict (job) do update set checkpoint = excluded.checkpoint, updated_at = now()`;
  await client.query(parts.length ? `with ${parts.join(', ')} ${mark}` : mark, params);
}

import { describe, expect, it } from 'vitest';
import { childEnv } from '../../src/engine/system/child-env.js';
import { withoutCredentials } from '../../src/engine/engines/target.js';
import { isCredentialParameter, isDistinctive, isKnownSecret, maskUrl, redact, redactDeep, registerSecret, weakness } from '../../src/engine/redact.js';

describe('redaction', () => {
  it('masks the password of a connection URL and keeps the rest', () => {
    expect(maskUrl('postgres://app:hunter2xyz@db1:5432/app?sslmode=require')).toBe('postgres://app:****@db1:5432/app?sslmode=require');
    expect(maskUrl('mongodb://ops@mongo1:27017/events')).toBe('mongodb://ops@mongo1:27017/events');
  });

  it('scrubs URL credentials inside free text such as driver errors', () => {
    expect(redact('could not connect to postgres://u:p4ss@h/db: refused')).toBe('could not connect to postgres://u:****@h/db: refused');
  });

  it('removes every registered secret, URL-encoded forms included', () => {
    registerSecret('p@ss w/rd-777');
    const text = `a p@ss w/rd-777 b ${encodeURIComponent('p@ss w/rd-777')} c`;
    expect(redact(text)).toBe('a **** b **** c');
  });

  it('redacts every string of a JSON document', () => {
    registerSecret('deepSecret-42');
    expect(redactDeep({ a: ['x deepSecret-42'], b: { c: 'deepSecret-42' }, n: 3 })).toEqual({ a: ['x ****'], b: { c: '****' }, n: 3 });
  });
});

describe('redaction does not corrupt what is not a secret', () => {
  it('a secret that is a short or common word is not scrubbed from free text (the tool prints those words itself)', () => {
    for (const word of ['postgres', 'wrong', 'apppw', 'sqlite', '12345678']) registerSecret(word);
    expect(redact('engine postgres, target postgres://postgres@127.0.0.1:5432/postgres')).toBe(
      'engine postgres, target postgres://postgres@127.0.0.1:5432/postgres',
    );
    expect(redact('Cannot open the vault /x/vault.json: wrong passphrase or key.')).toBe('Cannot open the vault /x/vault.json: wrong passphrase or key.');
    expect(redact('storage secrets set app --from-file apppw.txt')).toBe('storage secrets set app --from-file apppw.txt');
    expect(redactDeep({ engine: 'postgres', size: 12345678 })).toEqual({ engine: 'postgres', size: 12345678 });
  });

  it('a common-word password is still masked wherever it is known to be a credential', () => {
    registerSecret('postgres');
    expect(maskUrl('postgres://postgres:postgres@127.0.0.1:5432/postgres')).toBe('postgres://postgres:****@127.0.0.1:5432/postgres');
    expect(redact('failed: postgres://postgres:postgres@h/db?password=postgres')).toBe('failed: postgres://postgres:****@h/db?password=****');
  });

  it('tells distinctive secrets from words', () => {
    expect(['postgres', 'wrong', 'Password', 'abcdefgh', '127.0.0.1', 'storage-cli'].map(isDistinctive)).toEqual([false, false, false, false, false, false]);
    expect(['hunter2xyz', 'p@ss w/rd-777', 'correcthorsebatterystaple', 'Zq7-appPw-DISTINCTIVE-4471'].map(isDistinctive)).toEqual([true, true, true, true]);
  });
});

describe('every credential form a driver accepts is masked', () => {
  it('the password= query parameter, libpq keywords and PGPASSWORD-style assignments', () => {
    expect(maskUrl('postgres://app@db1:5432/app?sslmode=require&password=q-pw%2F77&application_name=x')).toBe(
      'postgres://app@db1:5432/app?sslmode=require&password=****&application_name=x',
    );
    expect(maskUrl('postgres://app@db1/app?sslpassword=keypass&password=')).toBe('postgres://app@db1/app?sslpassword=****&password=');
    expect(redact('pg_dump: connection to "host=db1 user=app password=\'it s\' dbname=x" failed')).toBe(
      'pg_dump: connection to "host=db1 user=app password=**** dbname=x" failed',
    );
    expect(redact('env: PGPASSWORD=abc STORAGE_BACKUP_PASSPHRASE=def STORAGE_STORE_MAIN_PASSWORD=ghi PATH=/usr/bin')).toBe(
      'env: PGPASSWORD=**** STORAGE_BACKUP_PASSPHRASE=**** STORAGE_STORE_MAIN_PASSWORD=**** PATH=/usr/bin',
    );
  });

  it('userinfo passwords with an unencoded @, multi-host MongoDB URLs and AWS session tokens', () => {
    expect(maskUrl('postgres://u:p@ss@h:5432/db')).toBe('postgres://u:****@h:5432/db');
    expect(maskUrl('mongodb://ops:mpw@m1:27017,m2:27017/ev?replicaSet=rs0')).toBe('mongodb://ops:****@m1:27017,m2:27017/ev?replicaSet=rs0');
    expect(maskUrl('mongodb://m1/ev?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok123,SERVICE_NAME:x')).toBe(
      'mongodb://m1/ev?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:****,SERVICE_NAME:x',
    );
  });

  it('leaves the tool hints that name credential settings alone', () => {
    const hint = 'Set STORAGE_VAULT_PASSPHRASE, pass --passphrase-file, or set password: "secret:NAME" for the store.';
    expect(redact(hint)).toBe(hint);
  });
});

describe('child processes', () => {
  it("get the environment without the tool's own secrets, settings or any known secret value", () => {
    registerSecret('From-Env-Secret-991');
    const env = childEnv(
      { PGPASSWORD: 'db-pw-xyz' },
      {
        PATH: '/usr/bin',
        HOME: '/root',
        STORAGE_BACKUP_PASSPHRASE: 'pp',
        STORAGE_VAULT_PASSPHRASE: 'vp',
        STORAGE_STORE_MAIN_PASSWORD: 'sp',
        THE_PW: 'From-Env-Secret-991',
        PGSSLMODE: 'require',
      },
    );
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', PGSSLMODE: 'require', PGPASSWORD: 'db-pw-xyz' });
  });

  it('get a connection URL with no credential in it, the other parameters byte for byte', () => {
    expect(withoutCredentials('postgres://app:ui-pw@h:5432/db?options=-c%20x%3D1&password=q%20pw&sslpassword=k')).toEqual({
      url: 'postgres://app@h:5432/db?options=-c%20x%3D1',
      userinfo: 'ui-pw',
      query: 'q pw',
    });
  });
});

describe('redaction edges (what a mutation run showed was unchecked)', () => {
  it('the length and kind bounds of a distinctive secret are exact, and the tool words match in any case', () => {
    expect(['abc1234x', 'abc123!', 'abcdefghijklmnop', 'abcdefghijklmno'].map(isDistinctive)).toEqual([true, false, true, false]);
    expect(['STORAGE-CLI', '127.0.0.1', 'Storage-Cli'].map(isDistinctive)).toEqual([false, false, false]);
    expect(weakness('STORAGE-CLI')).toMatch(/word the tool itself prints/);
  });

  it('a registered secret of 3 characters is known (kept out of child environments), one of 2 is not', () => {
    registerSecret('q7z');
    registerSecret('q8');
    registerSecret(undefined);
    registerSecret(null);
    expect([isKnownSecret('q7z'), isKnownSecret('q8')]).toEqual([true, false]);
  });

  it('a secret that contains another is removed whole, not leaving its tail', () => {
    registerSecret('Inner-Secret-5521');
    registerSecret('Inner-Secret-5521-and-more-X9');
    expect(redact('a Inner-Secret-5521-and-more-X9 b Inner-Secret-5521 c')).toBe('a **** b **** c');
  });

  it('an empty userinfo password stays empty (nothing to mask, nothing invented)', () => {
    expect(maskUrl('postgres://u:@h:5432/db')).toBe('postgres://u:@h:5432/db');
  });

  it('tells credential query parameters from the others', () => {
    expect(['password', 'sslpassword', 'PASSWORD', 'pwd', 'tlsCertificateKeyFilePassword'].map(isCredentialParameter)).toEqual([true, true, true, true, true]);
    expect(['application_name', 'passwordx', 'user', 'sslmode'].map(isCredentialParameter)).toEqual([false, false, false, false]);
  });

  it('redactDeep keeps dates, null and numbers as they are', () => {
    const at = new Date(0);
    const out = redactDeep({ at, none: null, n: 1, list: [null, at] });
    expect(out.at).toBeInstanceOf(Date);
    expect(out.at.getTime()).toBe(0);
    expect(out).toEqual({ at, none: null, n: 1, list: [null, at] });
  });
});

describe('redaction edges, continued', () => {
  it('symbols alone are one kind; a short registered secret stays out of free text', () => {
    expect(isDistinctive('!@#$%^&*')).toBe(false);
    registerSecret('k9q');
    expect(redact('x k9q y')).toBe('x k9q y');
  });
});

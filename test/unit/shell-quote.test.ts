// A command shown in a hint must mean, pasted into a shell, exactly the words it was built from.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/engine/system/shell.js';

describe('shellQuote', () => {
  it('leaves plain words alone, so ordinary hints read as before', () => {
    for (const word of ['main', 'app_db', 'before-v42', '20261126T020000Z-main-1a2b3c', '/var/lib/storage/vault.json', 'user@host']) {
      expect(shellQuote(word)).toBe(word);
    }
  });

  it('quotes anything else so that bash reads back the very same word', () => {
    const words = ['bad name', "it's", 'a"b', '$HOME', '`id`', 'semi;colon', 'star*', 'new\nline', '', ' ', "'", '-', 'tab\there', 'ünïcode'];
    const script = `for word in ${words.map(shellQuote).join(' ')}; do printf '%s\\0' "$word"; done`;
    const echoed = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\0').slice(0, -1);
    expect(echoed).toEqual(words);
  });
});

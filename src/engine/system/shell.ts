// Commands shown to the operator (in hints and explanations) must work when pasted into a shell,
// whatever the names in them hold: a database called `bad name` is `--confirm 'bad name'`.

/** `value` as one POSIX shell word: unchanged when it is plain, else single-quoted. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

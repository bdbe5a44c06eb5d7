// Text the tool did not write itself (store and database names, table names, backup tags and
// manifests from a repository others can write to, paths, servers' error messages) may carry
// terminal controls: an OSC that retitles the window or writes the clipboard, a CSI that clears
// the screen, a carriage return that draws over a warning. Printed as is, the operator's terminal
// would run them. They are shown as visible escapes instead, written as JSON writes them
// (`\u001b`, `\r`), so the same text reads the same in a message and in a --json document.

/**
 * The C0 controls but line feed and tab (they only lay text out), DEL, and the C1 controls
 * (U+009B is a CSI on many terminals; JSON.stringify leaves all of C1 as is).
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const SHORT: Record<string, string> = { '\b': '\\b', '\f': '\\f', '\r': '\\r' };

/** One control character as JSON would escape it: `\r`, `\u001b`, `\u009b`. */
function escaped(char: string): string {
  return SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` with every control character (see CONTROL_CHARS) shown as an escape; line feeds and tabs kept. */
export function visibleControls(text: string): string {
  return text.replace(CONTROL_CHARS, escaped);
}

/** Whether `text` holds a control character that visibleControls would escape. */
export function hasControls(text: string): boolean {
  CONTROL_CHARS.lastIndex = 0;
  const found = CONTROL_CHARS.test(text);
  CONTROL_CHARS.lastIndex = 0;
  return found;
}

/**
 * `text` quoted as JSON quotes it, with C1 and DEL escaped as well, for naming a value that holds
 * controls (a config key) so the operator sees where it starts and ends.
 */
export function quotedVisible(text: string): string {
  return visibleControls(JSON.stringify(text));
}

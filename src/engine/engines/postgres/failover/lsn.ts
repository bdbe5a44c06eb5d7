// PostgreSQL WAL positions ("0/3000148": high and low 32 bits in hex) as numbers to compare and subtract.

export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

export function formatLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Bytes from `from` to `to` (0 when `to` is not past `from`). */
export function lsnBytes(from: string, to: string): number {
  const diff = parseLsn(to) - parseLsn(from);
  return diff > 0n ? Number(diff) : 0;
}

export function lsnAtLeast(position: string | undefined, target: string): boolean {
  return position !== undefined && parseLsn(position) >= parseLsn(target);
}

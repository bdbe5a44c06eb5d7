// Bytes arriving in pieces of any size, taken out in pieces of the size a stage works in. Pieces
// are joined only when taken as one buffer (each byte is copied at most once), or handed on as
// they came.
export class ByteQueue {
  private pieces: Buffer[] = [];
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  add(piece: Buffer): void {
    this.pieces.push(piece);
    this.bytes += piece.length;
  }

  /** The first `count` bytes (all of them when fewer are queued), removed from the queue, in one buffer. */
  take(count: number): Buffer {
    const pieces = this.takePieces(count);
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }

  /** The same bytes as `take`, as the pieces they arrived in (cut at the end), with no copying. */
  takePieces(count: number): Buffer[] {
    const out: Buffer[] = [];
    let wanted = Math.min(count, this.bytes);
    this.bytes -= wanted;
    while (wanted > 0) {
      const piece = this.pieces[0];
      if (piece.length <= wanted) {
        out.push(piece);
        this.pieces.shift();
        wanted -= piece.length;
      } else {
        out.push(piece.subarray(0, wanted));
        this.pieces[0] = piece.subarray(wanted);
        wanted = 0;
      }
    }
    return out;
  }
}

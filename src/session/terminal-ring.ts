/**
 * A terminal's recent output, bounded: what a member who arrives later is shown first. When old
 * output is dropped, the replay starts at a line boundary where one is near, so that it does not
 * begin inside an escape sequence or a multi-byte character.
 */
export const DEFAULT_REPLAY_BYTES = 256 * 1024;

export class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  private trimmed = false;

  constructor(private readonly limit = DEFAULT_REPLAY_BYTES) {}

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let b = Buffer.from(bytes);
    if (b.length > this.limit) {
      b = b.subarray(b.length - this.limit);
      this.chunks = [];
      this.size = 0;
      this.trimmed = true;
    }
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.limit) {
      const first = this.chunks[0];
      const excess = this.size - this.limit;
      this.trimmed = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** The kept output, oldest first. */
  contents(): Buffer {
    const all = Buffer.concat(this.chunks);
    if (!this.trimmed) return all;
    const nl = all.indexOf(0x0a);
    return nl >= 0 && nl < 4096 ? all.subarray(nl + 1) : all;
  }

  get bytes(): number {
    return this.size;
  }
}

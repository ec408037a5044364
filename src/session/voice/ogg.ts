/**
 * Writing Opus packets as an Ogg Opus file (RFC 7845): what a headless listener records (`--record-call`),
 * playable by any player and decodable by browsers — which is how the tests check what was heard.
 * One logical stream, mono, 48 kHz; every packet is taken as 20 ms (960 samples), the call's frame size.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';

const SAMPLES_PER_FRAME = 960;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]) >>> 0;
  return crc;
}

export class OggOpusWriter {
  private readonly fd: number;
  private readonly serial = randomBytes(4).readUInt32LE(0);
  private sequence = 0;
  private granule = 0n;
  private closed = false;
  packets = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'ascii');
    head[8] = 1; // version
    head[9] = 1; // channels
    head.writeUInt16LE(312, 10); // pre-skip: the encoder's usual look-ahead at 48 kHz
    head.writeUInt32LE(48000, 12); // input sample rate (informative)
    head.writeInt16LE(0, 16); // output gain
    head[18] = 0; // channel mapping family
    this.page(head, 0x02);
    const vendor = Buffer.from('hyperpair');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'ascii');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    tags.writeUInt32LE(0, 12 + vendor.length);
    this.page(tags, 0);
  }

  /** Appends one Opus packet (20 ms). A gap in the caller's frames is not filled: players resync. */
  write(packet: Uint8Array): void {
    if (this.closed) return;
    this.granule += BigInt(SAMPLES_PER_FRAME);
    this.page(packet, 0);
    this.packets++;
  }

  close(): void {
    if (this.closed) return;
    // The last page carries the end-of-stream flag: an empty packet would be invalid, so repeat none
    // and mark an empty page instead (allowed: a page with no segments).
    this.page(new Uint8Array(0), 0x04);
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private page(packet: Uint8Array, flags: number): void {
    const lacing: number[] = [];
    if (packet.byteLength > 0 || flags !== 0x04) {
      let left = packet.byteLength;
      while (left >= 255) {
        lacing.push(255);
        left -= 255;
      }
      lacing.push(left);
    }
    const header = Buffer.alloc(27 + lacing.length);
    header.write('OggS', 0, 'ascii');
    header[4] = 0;
    header[5] = flags;
    header.writeBigUInt64LE(this.granule, 6);
    header.writeUInt32LE(this.serial, 14);
    header.writeUInt32LE(this.sequence++, 18);
    header.writeUInt32LE(0, 22);
    header[26] = lacing.length;
    lacing.forEach((l, i) => (header[27 + i] = l));
    const page = Buffer.concat([header, packet]);
    page.writeUInt32LE(oggCrc(page), 22);
    fs.writeSync(this.fd, page);
  }
}

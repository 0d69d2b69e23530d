// CRC-32 (IEEE 802.3, the checksum of zlib, gzip and PNG) of byte arrays: the integrity check of a compact model file.

let table: Uint32Array | null = null;

function crcTable(): Uint32Array {
  if (table !== null) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 of the parts one after the other (as if concatenated), as an unsigned 32-bit integer. */
export function crc32(...parts: Uint8Array[]): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The checksum as the file stores it: 8 lowercase hexadecimal digits. */
export function crc32Hex(...parts: Uint8Array[]): string {
  return crc32(...parts).toString(16).padStart(8, "0");
}

/**
 * CRC-32 of IEEE 802.3 (reflected, polynomial 0x04C11DB7, initial and final value 0xFFFFFFFF): the
 * frame check sequence of Ethernet and 802.11 frames, sent least significant byte first. The table
 * is built once, when the module loads.
 */
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/** CRC-32 of bytes[start, end). */
export function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

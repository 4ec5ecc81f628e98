// Marks one glibc version requirement of an ELF shared object as weak (VER_FLG_WEAK), so the dynamic
// loader no longer refuses the file when the running glibc lacks that version. Only safe once no
// symbol still needs that version (patchelf --clear-symbol-version, and the symbols provided by a shim).
// Usage: node scripts/elf-weaken-version.mjs <file.so> <VERSION>   e.g. GLIBC_2.38
import { readFileSync, writeFileSync } from 'node:fs';

const [file, version] = process.argv.slice(2);
if (!file || !version) {
  console.error('usage: elf-weaken-version.mjs <file> <version>');
  process.exit(2);
}
const elf = readFileSync(file);
if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error(`${file}: not a little-endian ELF64 file`);
const shoff = Number(elf.readBigUInt64LE(0x28));
const shentsize = elf.readUInt16LE(0x3a);
const shnum = elf.readUInt16LE(0x3c);
const section = (index) => {
  const at = shoff + index * shentsize;
  return { type: elf.readUInt32LE(at + 4), offset: Number(elf.readBigUInt64LE(at + 0x18)), link: elf.readUInt32LE(at + 0x28) };
};
const SHT_GNU_VERNEED = 0x6ffffffe;
const VER_FLG_WEAK = 0x2;
let changed = 0;
for (let i = 0; i < shnum; i++) {
  const verneed = section(i);
  if (verneed.type !== SHT_GNU_VERNEED) continue;
  const strtab = section(verneed.link).offset;
  const name = (offset) => elf.toString('latin1', strtab + offset, elf.indexOf(0, strtab + offset));
  let need = verneed.offset;
  for (;;) {
    const count = elf.readUInt16LE(need + 2);
    let aux = need + elf.readUInt32LE(need + 8);
    for (let j = 0; j < count; j++) {
      if (name(elf.readUInt32LE(aux + 8)) === version) {
        elf.writeUInt16LE(elf.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4);
        changed++;
      }
      const next = elf.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = elf.readUInt32LE(need + 12);
    if (next === 0) break;
    need += next;
  }
}
if (changed === 0) throw new Error(`${file}: no requirement of ${version}`);
writeFileSync(file, elf);
console.log(`${file}: ${version} requirement marked weak (${changed} entr${changed === 1 ? 'y' : 'ies'})`);

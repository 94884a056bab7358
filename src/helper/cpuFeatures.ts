// What a host's CPU offers user space, from the helper's `caps`: the instruction-set flags of
// /proc/cpuinfo and CRIU's record of the CPU (`criu cpuinfo dump`), whose xsave size sh cannot
// read. A process keeps using the instructions its libraries picked at start (glibc, NumPy,
// Node.js choose by CPUID once), so on a CPU without one it dies of SIGILL after the move.

export interface CpuFeatures {
  /** /proc/cpuinfo's `flags` (x86) or `Features` (arm64), as the kernel enabled them. */
  flags: string[];
  /** Bytes XSAVE stores for the register state the kernel enabled (CPUID 0xD.0 EBX): what
   * glibc and others sized their save buffers by at start. From CRIU's cpuinfo.img; x86 only. */
  xsaveSize?: number;
}

/** x86 flags (Linux's names) of instructions a user program can execute and that CRIU's
 * instruction check (`x86_ins_capability_mask`, criu/arch/x86/cpu.c) or newer extensions cover.
 * Left out, as they cannot raise SIGILL or differ between otherwise equal hosts: hints older
 * CPUs execute as no-ops (hle, mpx, 3dnowprefetch, cldemote), kernel-only ones (smep, pku,
 * xsaves, fsgsbase before Linux 5.9), speed and mitigation flags (erms, fsrm, ssbd), and TSX's
 * rtm, which microcode updates turn off and glibc leaves unused unless told. */
const X86_INSTRUCTION_SETS = new RegExp(
  '^(' +
    [
      'fpu', 'cx8', 'cmov', 'clflush', 'mmx', 'mmxext', '3dnow', '3dnowext', 'fxsr',
      'sse\\w*', 'pni', 'ssse3', 'popcnt', 'abm', 'movbe', 'cx16', 'lahf_lm',
      'rdtscp', 'rdrand', 'rdseed', 'rdpid', 'rdpru',
      'aes', 'vaes', 'pclmulqdq', 'vpclmulqdq', 'gfni', 'sha_ni', 'sha512', 'sm3', 'sm4',
      'avx\\w*', 'amx\\w*', 'fma', 'fma4', 'f16c', 'xop', 'tbm', 'bmi1', 'bmi2', 'adx',
      'xsave', 'xsaveopt', 'xsavec', 'xgetbv1',
      'clflushopt', 'clwb', 'clzero', 'waitpkg', 'serialize', 'tsxldtrk', 'movdiri', 'movdir64b',
      'enqcmd', 'uintr', 'cmpccxadd', 'mwaitx',
    ].join('|') +
    ')$',
);

/** arm64's `Features` are hwcaps, user-visible by definition, but for these two (the timer's
 * event stream, and MRS emulation of ID registers by the kernel). */
const ARM64_NOT_INSTRUCTIONS = new Set(['evtstrm', 'cpuid']);

/** Is `flag` an instruction-set feature user space may depend on, on `arch` (`uname -m`)? */
export function isInstructionSet(flag: string, arch: string): boolean {
  if (arch === 'x86_64' || /^i[3-6]86$/.test(arch)) return X86_INSTRUCTION_SETS.test(flag);
  if (arch === 'aarch64') return !ARM64_NOT_INSTRUCTIONS.has(flag);
  return false; // ppc64le, s390x, riscv64 …: not compared
}

/** The helper's `cpu_flags=` and `cpuinfo_image=` (hex) values. Undefined when neither said
 * anything (an older helper, or /proc/cpuinfo unreadable): nothing is compared then. */
export function parseCpuFeatures(flagsLine: string | undefined, imageHex: string | undefined): CpuFeatures | undefined {
  const flags = (flagsLine ?? '').split(/\s+/).filter(Boolean);
  const xsaveSize = imageHex ? readCpuinfoImage(imageHex)?.xsaveSize : undefined;
  if (!flags.length && xsaveSize === undefined) return undefined;
  return { flags, ...(xsaveSize !== undefined ? { xsaveSize } : {}) };
}

export interface CpuinfoX86 {
  vendor: 'intel' | 'amd' | 'unknown';
  family: number;
  model: number;
  modelId?: string;
  /** XSAVE state components the CPU supports (CPUID 0xD.0 EDX:EAX, user ones). */
  xfeaturesMask?: bigint;
  /** For the components enabled (XCR0) and for all supported, in bytes. */
  xsaveSize?: number;
  xsaveSizeMax?: number;
}

/** criu/include/magic.h: an image starts with IMG_COMMON_MAGIC, then its own magic. */
const CPUINFO_MAGIC = 0x61404013;

/** Decodes CRIU 4.x's cpuinfo.img (images/cpuinfo.proto: one size-prefixed `cpuinfo_entry`
 * whose field 1 is the x86 entry). Undefined for anything else (another arch, a bad image). */
export function readCpuinfoImage(hex: string): CpuinfoX86 | undefined {
  if (!/^([0-9a-f]{2})+$/i.test(hex)) return undefined;
  const buf = Buffer.from(hex, 'hex');
  if (buf.length < 12 || buf.readUInt32LE(4) !== CPUINFO_MAGIC) return undefined;
  const size = buf.readUInt32LE(8);
  const entry = buf.subarray(12, 12 + size);
  if (entry.length !== size) return undefined;
  try {
    const x86 = fields(entry).find((f) => f.number === 1 && f.bytes)?.bytes;
    if (!x86) return undefined;
    const out: CpuinfoX86 = { vendor: 'unknown', family: 0, model: 0 };
    for (const f of fields(x86)) {
      const n = f.varint !== undefined ? Number(f.varint) : undefined;
      if (f.number === 1) out.vendor = n === 1 ? 'intel' : n === 2 ? 'amd' : 'unknown';
      else if (f.number === 2 && n !== undefined) out.family = n;
      else if (f.number === 3 && n !== undefined) out.model = n;
      else if (f.number === 7 && f.bytes) out.modelId = f.bytes.toString('utf8');
      else if (f.number === 8 && f.varint !== undefined) out.xfeaturesMask = f.varint;
      else if (f.number === 9 && n !== undefined) out.xsaveSize = n;
      else if (f.number === 10 && n !== undefined) out.xsaveSizeMax = n;
    }
    return out;
  } catch {
    return undefined; // truncated or not protobuf
  }
}

interface Field {
  number: number;
  varint?: bigint;
  bytes?: Buffer;
}

/** The fields of a protobuf message: varints and length-delimited ones (all cpuinfo.proto has;
 * fixed-size ones are skipped). Throws on a truncated message. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length || shift > 63n) throw new Error('bad varint');
      const byte = buf[pos++];
      value |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ number, varint: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      if (pos + length > buf.length) throw new Error('truncated');
      out.push({ number, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

/** What `destination` lacks of `source` for a process started on the source: the
 * instruction-set flags it has not, and whether its xsave area is larger (criu#3120: buffers
 * sized on the source overflow). Unknown facts on either side are not compared. */
export function cpuShortfall(source: CpuFeatures | undefined, destination: CpuFeatures | undefined, arch: string): { missing: string[]; xsave?: { source: number; destination: number } } {
  if (!source || !destination) return { missing: [] };
  const have = new Set(destination.flags);
  const missing = destination.flags.length ? [...new Set(source.flags)].filter((f) => isInstructionSet(f, arch) && !have.has(f)) : [];
  const larger = source.xsaveSize !== undefined && destination.xsaveSize !== undefined && destination.xsaveSize > source.xsaveSize;
  return { missing, ...(larger ? { xsave: { source: source.xsaveSize!, destination: destination.xsaveSize! } } : {}) };
}

// CPU features from `caps` (the real fixture's flags and CRIU cpuinfo.img) and what the
// destination lacks of the source's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuShortfall, isInstructionSet, parseCpuFeatures, readCpuinfoImage } from '../../src/helper/cpuFeatures';
import { fixture } from './fixtures';

const captured = fixture('caps.txt');
const flagsLine = /^cpu_flags=(.*)$/m.exec(captured)![1];
const image = /^cpuinfo_image=(.*)$/m.exec(captured)![1];
const real = parseCpuFeatures(flagsLine, image)!;
/** The same image with xsave_size (field 9, a two-byte varint) set to 2696, as Intel's with PKRU. */
const intelXsave = image.replace('4888135088', '4888155088');

describe('readCpuinfoImage', () => {
  it("decodes CRIU 4.2.1's cpuinfo.img of this machine", () => {
    assert.deepEqual(readCpuinfoImage(image), {
      vendor: 'amd',
      family: 25,
      model: 1,
      modelId: 'AMD EPYC',
      xfeaturesMask: 0x205n,
      xsaveSize: 2440,
      xsaveSizeMax: 2440,
    });
    assert.equal(readCpuinfoImage(intelXsave)?.xsaveSize, 2696);
  });

  it('gives up on anything else', () => {
    assert.equal(readCpuinfoImage(''), undefined);
    assert.equal(readCpuinfoImage('zz'), undefined);
    assert.equal(readCpuinfoImage(image.slice(0, 60)), undefined, 'truncated');
    assert.equal(readCpuinfoImage('19435654' + '00000000' + image.slice(16)), undefined, 'another image');
  });
});

describe('isInstructionSet', () => {
  it('keeps x86 instruction sets, not kernel, speed, mitigation or no-op hint flags', () => {
    const isa = real.flags.filter((f) => isInstructionSet(f, 'x86_64'));
    for (const f of ['sse4_2', 'pni', 'avx', 'avx2', 'fma', 'bmi1', 'bmi2', 'aes', 'sha_ni', 'vaes', 'xsavec', 'clzero', 'rdpid']) assert.ok(isa.includes(f), f);
    for (const f of ['hypervisor', 'constant_tsc', 'ssbd', 'ibrs', 'pku', 'ospke', 'smep', 'erms', 'fsrm', 'xsaves', 'fsgsbase', '3dnowprefetch', 'misalignsse', 'x2apic']) {
      assert.ok(!isa.includes(f), f);
    }
    for (const f of ['avx512f', 'avx512_vnni', 'avx_vnni', 'amx_tile', 'sse4a']) assert.ok(isInstructionSet(f, 'x86_64'), f);
    for (const f of ['rtm', 'hle', 'mpx']) assert.ok(!isInstructionSet(f, 'x86_64'), f);
  });

  it('takes arm64 hwcaps but the event stream, and nothing of other architectures', () => {
    assert.ok(isInstructionSet('sve2', 'aarch64'));
    assert.ok(!isInstructionSet('evtstrm', 'aarch64'));
    assert.ok(!isInstructionSet('vsx', 'ppc64le'));
  });
});

describe('cpuShortfall', () => {
  const without = (...gone: string[]) => ({ ...real, flags: real.flags.filter((f) => !gone.includes(f)) });

  it('names the instruction sets the destination lacks, in the source’s order', () => {
    assert.deepEqual(cpuShortfall(real, without('avx2', 'bmi2', 'fma', 'hypervisor', 'ssbd', 'pku', 'erms'), 'x86_64'), { missing: ['fma', 'avx2', 'bmi2'] });
  });

  it('passes the same CPU, a richer one, and unknown ones', () => {
    assert.deepEqual(cpuShortfall(real, real, 'x86_64'), { missing: [] });
    assert.deepEqual(cpuShortfall(without('avx2'), real, 'x86_64'), { missing: [] });
    assert.deepEqual(cpuShortfall(real, { ...real, flags: [...real.flags, 'avx512f'] }, 'x86_64'), { missing: [] });
    assert.deepEqual(cpuShortfall(real, undefined, 'x86_64'), { missing: [] });
    assert.deepEqual(cpuShortfall(real, { flags: [], xsaveSize: 2440 }, 'x86_64'), { missing: [] }, 'flags unknown there');
  });

  it('flags a larger xsave area on the destination, not a smaller one', () => {
    const intel = parseCpuFeatures(flagsLine, intelXsave)!;
    assert.deepEqual(cpuShortfall(real, intel, 'x86_64'), { missing: [], xsave: { source: 2440, destination: 2696 } });
    assert.deepEqual(cpuShortfall(intel, real, 'x86_64'), { missing: [] });
    assert.deepEqual(cpuShortfall(real, { flags: real.flags }, 'x86_64'), { missing: [] }, 'no image there');
  });
});

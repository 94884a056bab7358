// The command line of a bench script: `--flag value`, `--flag=value` or BENCH_FLAG in the
// environment, and timestamped progress lines on stderr (stdout is for the report).

export interface Flags {
  /** The flag's value, from the command line, else BENCH_<FLAG> (`--count-size` → BENCH_COUNT_SIZE). */
  get(name: string): string | undefined;
  /** A switch: given on the command line (or BENCH_<FLAG>=1/true). */
  has(name: string): boolean;
  /** A comma-separated list of positive integers; `none` is the empty list. */
  integers(name: string, fallback: number[]): number[];
}

/** Reads argv; `switches` take no value; --help prints `usage` and exits. */
export function readFlags(argv: string[], switches: string[], usage: string): Flags {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (switches.includes(k)) flags.set(k, '1');
    else flags.set(k, inline ?? argv[++i] ?? '');
  }
  const get = (name: string) => flags.get(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  return {
    get,
    has: (name) => ['1', 'true'].includes(get(name) ?? ''),
    integers(name, fallback) {
      const v = get(name);
      if (v === 'none') return [];
      const list = v ? v.split(',').map((x) => Number(x.trim())) : fallback;
      for (const n of list) if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${name}: not a positive integer: ${n}`);
      return list;
    },
  };
}

export function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export const sec = (ms?: number) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
export const round = (ms: number) => Math.round(ms * 10) / 10;
export const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

// What `auto` is likely to pick, for the destination picker before a host is chosen: the engine's
// own choice for this size, as if both hosts support every strategy (the engine then checks both
// kernels, and the report says what it picked and why). Host-free, so it is unit-tested.
import { chooseStrategy } from '../../migration/strategy';
import { formatKiB } from '../../common/format';

export function predictAuto(rssKiB: number | undefined): string | undefined {
  if (rssKiB === undefined || rssKiB <= 0) return undefined;
  const { strategy } = chooseStrategy({ requested: 'auto', rssKiB });
  return strategy === 'stop-and-copy' ? `stop-and-copy for ${formatKiB(rssKiB)}` : `${strategy} for ${formatKiB(rssKiB)} where both hosts support it`;
}

// A migration's private image directories (the helper's mkimages/rmimages): 0700, under the
// host's images base, swept after hours should a migration lose its host.
import type { HostHelper } from '../helper/hostHelper';

export type Side = 'source' | 'destination';

/** A new image directory on `helper`'s host (it will hold process memory). */
export async function makeImageDirectory(helper: HostHelper): Promise<string> {
  const out = await helper.run(['mkimages']);
  const dir = /^dir=(.+)$/m.exec(out)?.[1];
  if (!dir) throw new Error(`Could not create an image directory on ${helper.host.name}.`);
  return dir;
}

export async function removeImageDirectory(helper: HostHelper, dir: string): Promise<void> {
  await helper.run(['rmimages', dir]);
}

/** An image directory on each host, made side by side. Both settle before this does, and `made`
 * hears of each one made: one made while the other failed is the caller's to remove. Rejects
 * with the first failure. */
export async function makeImageDirectoryPair(helpers: Record<Side, HostHelper>, made: (side: Side, dir: string) => void): Promise<Record<Side, string>> {
  const make = async (side: Side) => {
    const dir = await makeImageDirectory(helpers[side]);
    made(side, dir);
    return dir;
  };
  const [source, destination] = await Promise.allSettled([make('source'), make('destination')]);
  if (source.status === 'rejected') throw source.reason;
  if (destination.status === 'rejected') throw destination.reason;
  return { source: source.value, destination: destination.value };
}

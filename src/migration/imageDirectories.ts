// A migration's private image directories (the helper's mkimages/rmimages): 0700, under the
// host's images base, swept after hours should a migration lose its host.
import type { HostHelper } from '../helper/hostHelper';

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

/** The client of the commands that talk to a running `jobvisor serve`. */
import { createClient } from '../client/index.js';

export type Client = ReturnType<typeof createClient>;

/** Runs `use` with a client for `url`, and closes the client afterwards. */
export async function withClient<T>(
  options: { url: string; token: string | undefined },
  use: (client: Client) => Promise<T>,
): Promise<T> {
  const client = createClient({ url: options.url, token: options.token });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

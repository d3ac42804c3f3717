// Types the bindings that tests see through `cloudflare:test`'s env.
import type { D1Migration } from "cloudflare:test";
import type { Env as LatchkeyEnv } from "../src/config/env";

declare global {
  namespace Cloudflare {
    interface Env extends LatchkeyEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

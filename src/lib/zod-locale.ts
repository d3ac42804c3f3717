// The Worker validates with zod/mini, zod 4's functional API: the same core as classic zod,
// without its methods, its JSON Schema converter or its built-in English messages. The messages
// reach clients (config/settings.ts describeZodError), so this gives mini classic zod's English
// ones. Every module that declares schemas imports it, so no parse runs without it.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());

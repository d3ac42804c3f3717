// Per-app delivery settings (providers and templates). Filled in by the delivery issue.
import { z } from "zod";

export const deliverySettingsSchema = z.strictObject({}).prefault({});
export const templateSettingsSchema = z.strictObject({}).prefault({});

// Types of scripts/gen-protos.mjs for the test that runs it (test/zitadel/protos.test.ts).
/** The RPCs Latchkey serves, by service type name (local method names). */
export declare const SERVED: Record<string, readonly string[]>;
/** The source of src/faces/zitadel/protos.gen.ts for the installed @zitadel/proto. */
export declare function generateProtos(): Promise<string>;

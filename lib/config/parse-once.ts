/**
 * zod parse options for a document parsed once or twice per process (the configuration, the state
 * manifest). zod 4 compiles an object schema's parser with `new Function` on its first parse, which
 * pays off only over many parses: in a one-shot CLI run it costs more than it saves (loading
 * envs/dev.yaml: 23-33 ms with it, 15-21 ms without). The result and the issues are the same.
 * Per parse, not `z.config({ jitless: true })`: zod reads that setting when a schema is constructed
 * (zod/v4/core/schemas.js, $ZodObjectJIT), so it would have to run before every schema module.
 */
export const PARSED_ONCE = { jitless: true } as const;

// Types of gen-api-types.mjs for src/api/types.test.ts.
export const OPENAPI_PATH: string;
export const OUTPUT_PATH: string;
export const SCHEMA_OUTPUT_PATH: string;
export function typeName(schemaName: string): string;
export function documentedValues(description: string | undefined): string[] | undefined;
export function generate(doc: unknown): string;
export function generateSchema(doc: unknown): string;

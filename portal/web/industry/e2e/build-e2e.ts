import { fileURLToPath } from 'node:url';
import { buildE2eEntry } from '../../e2e/build-entry.ts';

/** Builds the industry module's test entry (this folder's index.html) into `outDir`, reusing a fresh build. */
export const buildIndustryE2e = (outDir: string): Promise<string> => buildE2eEntry(fileURLToPath(new URL('.', import.meta.url)), outDir);

import { join } from 'node:path';
import { packageRoot } from '../../src/shared/package-info.js';

export const ROOT = packageRoot();
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

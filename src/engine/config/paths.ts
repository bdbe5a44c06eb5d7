// Where the tool keeps its own files when no config says otherwise (XDG on Linux).
import envPaths from 'env-paths';
import path from 'node:path';

export interface UserPaths {
  config: string;
  data: string;
  state: string;
}

export function userPaths(): UserPaths {
  const paths = envPaths('storage', { suffix: '' });
  return { config: paths.config, data: paths.data, state: path.join(paths.data, 'state') };
}

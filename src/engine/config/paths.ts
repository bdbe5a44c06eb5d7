// Where the tool keeps its own files when no config says otherwise: the XDG base directories on
// Linux ($XDG_CONFIG_HOME, $XDG_DATA_HOME), the Library folders on macOS, %APPDATA% and
// %LOCALAPPDATA% on Windows. (Written here rather than taken from a package: the one we used
// imported `node:process` as an ES module, which builds the whole process namespace, report
// module included, on every start.)
import os from 'node:os';
import path from 'node:path';

export interface UserPaths {
  config: string;
  data: string;
  state: string;
}

const NAME = 'storage';

function base(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): { config: string; data: string } {
  const home = os.homedir();
  if (platform === 'darwin') {
    const library = path.join(home, 'Library');
    return { config: path.join(library, 'Preferences', NAME), data: path.join(library, 'Application Support', NAME) };
  }
  if (platform === 'win32') {
    const appData = env.APPDATA || path.join(home, 'AppData', 'Roaming');
    const localAppData = env.LOCALAPPDATA || path.join(home, 'AppData', 'Local');
    return { config: path.join(appData, NAME, 'Config'), data: path.join(localAppData, NAME, 'Data') };
  }
  // The XDG spec: a variable that is unset, empty or relative is ignored (a relative one would put
  // the tool's keys and audit log under whatever directory a command happens to run in).
  const xdg = (value: string | undefined, fallback: string) => (value && path.isAbsolute(value) ? value : fallback);
  return {
    config: path.join(xdg(env.XDG_CONFIG_HOME, path.join(home, '.config')), NAME),
    data: path.join(xdg(env.XDG_DATA_HOME, path.join(home, '.local', 'share')), NAME),
  };
}

export function userPaths(env?: NodeJS.ProcessEnv, platform?: NodeJS.Platform): UserPaths {
  const { config, data } = base(env, platform);
  return { config, data, state: path.join(data, 'state') };
}

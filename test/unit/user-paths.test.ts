// Where the tool keeps its files when no config says otherwise, per platform: the directories
// operators and their backups of them rely on must not move between versions.
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { userPaths } from '../../src/engine/config/paths.js';

const home = os.homedir();

describe('user paths', () => {
  it('Linux: the XDG base directories when set, ~/.config and ~/.local/share when not (or empty, or relative: the spec says to ignore those)', () => {
    expect(userPaths({ XDG_CONFIG_HOME: '/x/conf', XDG_DATA_HOME: '/x/data' }, 'linux')).toEqual({
      config: '/x/conf/storage',
      data: '/x/data/storage',
      state: '/x/data/storage/state',
    });
    for (const env of [{}, { XDG_CONFIG_HOME: '', XDG_DATA_HOME: '' }, { XDG_CONFIG_HOME: 'relative/conf', XDG_DATA_HOME: './data' }])
      expect(userPaths(env, 'linux')).toEqual({
        config: path.join(home, '.config', 'storage'),
        data: path.join(home, '.local', 'share', 'storage'),
        state: path.join(home, '.local', 'share', 'storage', 'state'),
      });
  });

  it('macOS: Library/Preferences and Library/Application Support, whatever XDG says', () => {
    expect(userPaths({ XDG_CONFIG_HOME: '/x/conf' }, 'darwin')).toEqual({
      config: path.join(home, 'Library', 'Preferences', 'storage'),
      data: path.join(home, 'Library', 'Application Support', 'storage'),
      state: path.join(home, 'Library', 'Application Support', 'storage', 'state'),
    });
  });

  it('Windows: %APPDATA%\\storage\\Config and %LOCALAPPDATA%\\storage\\Data, under AppData when unset', () => {
    expect(userPaths({ APPDATA: '/r', LOCALAPPDATA: '/l' }, 'win32')).toEqual({
      config: path.join('/r', 'storage', 'Config'),
      data: path.join('/l', 'storage', 'Data'),
      state: path.join('/l', 'storage', 'Data', 'state'),
    });
    expect(userPaths({}, 'win32').config).toBe(path.join(home, 'AppData', 'Roaming', 'storage', 'Config'));
    expect(userPaths({}, 'win32').data).toBe(path.join(home, 'AppData', 'Local', 'storage', 'Data'));
  });

  it('by default, the running platform and environment', () => {
    const { XDG_CONFIG_HOME, XDG_DATA_HOME } = process.env;
    try {
      process.env.XDG_CONFIG_HOME = '/env/conf';
      process.env.XDG_DATA_HOME = '/env/data';
      expect(userPaths()).toEqual({ config: '/env/conf/storage', data: '/env/data/storage', state: '/env/data/storage/state' });
    } finally {
      if (XDG_CONFIG_HOME === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = XDG_CONFIG_HOME;
      if (XDG_DATA_HOME === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = XDG_DATA_HOME;
    }
  });
});

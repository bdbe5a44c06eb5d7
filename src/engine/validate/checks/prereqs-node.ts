// prereqs.node: the Node.js this runs on is one the tool supports.
import type { Check, CheckOutcome } from '../registry.js';

// The supported lines, as in package.json `engines` (^20.19.0 || ^22.12.0 || >=24.0.0): CI tests
// 20, 22 and 24. 20.19 and 22.12 are the releases of their lines that load ES modules through
// require() without a flag; 21 and 23 were short-lived odd releases.
export function judgeNode(version: string): CheckOutcome {
  const [major, minor] = version.split('.').map(Number);
  const ok = major >= 24 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
  return ok
    ? { status: 'pass', reason: `Node.js ${version}` }
    : {
        status: 'fail',
        reason: `Node.js ${version} is not a supported version (20.19+, 22.12+, 24 or newer)`,
        hint: 'Install Node.js 24 (or 22.12+, or 20.19+).',
      };
}

export const prereqsNode: Check = {
  id: 'prereqs.node',
  suite: 'prereqs',
  title: 'Node.js is a supported version (20.19+, 22.12+, 24+)',
  async run() {
    return [judgeNode(process.versions.node)];
  },
};

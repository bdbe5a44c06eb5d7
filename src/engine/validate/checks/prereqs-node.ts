// prereqs.node: the Node.js this runs on is one the tool supports.
import type { Check, CheckOutcome } from '../registry.js';

export function judgeNode(version: string): CheckOutcome {
  const [major, minor] = version.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return ok
    ? { status: 'pass', reason: `Node.js ${version}` }
    : { status: 'fail', reason: `Node.js ${version} is older than 20.19`, hint: 'Install Node.js 20.19 or newer.' };
}

export const prereqsNode: Check = {
  id: 'prereqs.node',
  suite: 'prereqs',
  title: 'Node.js is 20.19 or newer',
  async run() {
    return [judgeNode(process.versions.node)];
  },
};

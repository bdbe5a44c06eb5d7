// Local file-system failures (a full disk, a read-only mount, permissions) reported as what they
// are, with the path and what to do, rather than blamed on a database server.
import { StorageError } from '../errors.js';

/** Errno codes that mean "this machine's file system said no", whoever made the call. */
const FILE_SYSTEM_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EACCES',
  'EPERM',
  'EIO',
  'EMFILE',
  'ENFILE',
  'ENOTDIR',
  'EISDIR',
  'EEXIST',
  'ENOENT',
  'EFBIG',
  'ENAMETOOLONG',
]);
/** System calls on files (a network error has `connect`, `read` on a socket has no path and another code). */
const FILE_SYSCALLS = new Set([
  'open',
  'write',
  'read',
  'close',
  'fsync',
  'fdatasync',
  'rename',
  'mkdir',
  'mkdtemp',
  'rmdir',
  'rm',
  'unlink',
  'link',
  'scandir',
  'stat',
  'lstat',
  'fstat',
  'copyfile',
  'ftruncate',
  'utime',
  'chmod',
  'access',
]);

const HINTS: Record<string, string> = {
  ENOSPC: 'The disk is full: free space (or prune old backups with `storage backup prune`) and run again. Nothing partial was kept as complete.',
  EDQUOT: 'The disk quota is used up: free space (or prune old backups) and run again. Nothing partial was kept as complete.',
  EFBIG: 'The file system does not take a file this large: point the repository at one that does.',
  EROFS: 'The file system is read-only: remount it read-write, or point the repository (backup.repository) at a writable place.',
  EACCES: 'Check the permissions of the path above, and which user runs this command.',
  EPERM: 'Check the permissions of the path above, and which user runs this command.',
  EIO: 'The disk reported an I/O error: check its health (dmesg, smartctl) before trusting what is on it.',
  EMFILE: 'Too many open files: raise the limit (ulimit -n) and run again.',
  ENFILE: 'The system ran out of file handles: try again later, or raise fs.file-max.',
};

const DESCRIPTIONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'an I/O error',
  EFBIG: 'the file is too large for the file system',
  EEXIST: 'a file is already there',
};

/** What went wrong, in words, with the errno code: "the file system is read-only (EROFS)". */
export function fileSystemReason(error: NodeJS.ErrnoException): string {
  const code = error.code ?? 'unknown';
  const what = DESCRIPTIONS[code] ?? error.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return `${what} (${code})`;
}

/** Whether `error` is a local file-system failure (Node's errno errors from fs calls). */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  const failure = error as NodeJS.ErrnoException | undefined;
  if (!failure || typeof failure.code !== 'string' || !FILE_SYSTEM_CODES.has(failure.code)) return false;
  return failure.syscall === undefined ? failure.path !== undefined : FILE_SYSCALLS.has(failure.syscall);
}

/**
 * The StorageError for a local file-system failure. `where` names what was being written when the
 * error itself carries no path (a stream's write error has none), e.g. "the backup repository /srv/backups".
 */
export function fileSystemFailure(error: NodeJS.ErrnoException, where?: string): StorageError {
  const code = error.code!;
  const place = error.path ?? where;
  return new StorageError('FAILED', `Cannot ${error.syscall ?? 'use'} ${place ?? 'a local file'}: ${fileSystemReason(error)}.`, {
    hint: HINTS[code] ?? 'A local file or directory could not be used; the path and the reason are above.',
    details: { errno: code, ...(place ? { path: place } : {}), ...(where && error.path ? { in: where } : {}) },
  });
}

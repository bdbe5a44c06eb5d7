// Distinctive secret values used across the suite. None of them may ever appear in anything the
// CLI prints: the suite's teardown greps every captured output for them.
export const APP_PASSWORD = 'Zq7-appPw-DISTINCTIVE-4471';
export const WRONG_PASSWORD = 'Xk9-wrongPw-DISTINCTIVE-8812';
export const SUPERUSER_PASSWORD = 'Rm3-superPw-DISTINCTIVE-2290';
export const URL_PASSWORD = 'Vb5-urlPw-DISTINCTIVE-6034';

export const ALL_TEST_SECRETS = [APP_PASSWORD, WRONG_PASSWORD, SUPERUSER_PASSWORD, URL_PASSWORD, 'Pp4-backupPass-DISTINCTIVE-7391'];
export const BACKUP_PASSPHRASE = 'Pp4-backupPass-DISTINCTIVE-7391';

/**
 * Options several commands share, defined once so their flags, help and defaults stay the same
 * everywhere (commander: `.option(...JSON_OPTION)`).
 */

/** Machine-readable output instead of the table or text a command prints. */
export const JSON_OPTION = ["--json", "print JSON"] as const;

/** Where the embedded database lives when no server is named. */
export const DATA_DIR_OPTION = [
  "--data-dir <dir>",
  "PGlite data directory when DATABASE_URL is unset",
  "./qoelab-data",
] as const;

/**
 * Protocol numbers declared once with the names show() prints for them: `codes.NAME` is the
 * number (a literal type, as from an `as const` table) and `names` maps it back to its name.
 */
export function codeTable<const T extends Readonly<Record<string, readonly [code: number, name: string]>>>(
  entries: T,
): { readonly codes: { readonly [K in keyof T]: T[K][0] }; readonly names: ReadonlyMap<number, string> } {
  const codes: Record<string, number> = {};
  const names = new Map<number, string>();
  for (const [key, [code, name]] of Object.entries(entries)) {
    codes[key] = code;
    names.set(code, name);
  }
  return { codes: codes as { readonly [K in keyof T]: T[K][0] }, names };
}

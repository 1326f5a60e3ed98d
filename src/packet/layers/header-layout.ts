/**
 * A header's layout from the sizes of its fields in wire order, as the RFC diagrams draw them:
 * each field's byte offset from the start of the header, and `size`, the bytes they take
 * together (where options or a body begin). Offsets follow from the sizes, so they cannot drift
 * from each other or from the header size.
 */
export function headerLayout<const F extends Record<string, number>>(
  sizes: F & { size?: never },
): { readonly [K in keyof F]: number } & { readonly size: number } {
  const layout: Record<string, number> = {};
  let at = 0;
  for (const [name, size] of Object.entries(sizes)) {
    layout[name] = at;
    at += size;
  }
  layout.size = at;
  return layout as { readonly [K in keyof F]: number } & { readonly size: number };
}

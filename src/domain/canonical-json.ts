/**
 * Deterministic JSON: object keys sorted, bigints as decimal strings. Content addresses and
 * manifests are hashed or compared byte for byte, so the same value must always give the same
 * text regardless of insertion order.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(normalize(value), null, indent);
}

function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) return normalize(Object.fromEntries(value));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = normalize(v);
    }
    return out;
  }
  return value;
}

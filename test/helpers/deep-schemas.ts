/**
 * ros2msg schemas made to hurt a decoder compiler: chains of nested unbounded sequences and
 * message types used twice per level (whose expanded size doubles per level).
 */
const SEP = '='.repeat(80);

export const DEEP_PACKAGE = 'deep_msgs';

/** `S0 { S1[] c }`, `S1 { S2[] c }`, …, `S<depth> { int32 x }`; with `mixed`, every level also has fields of other alignments. */
export function sequenceChainSchema(depth: number, options: { mixed?: boolean } = {}): { name: string; text: string } {
  const level = (i: number): string => {
    if (i === depth) return options.mixed === true ? 'int32 x\nstring name\n' : 'int32 x\n';
    const next = `${DEEP_PACKAGE}/S${i + 1}[] c`;
    return options.mixed === true ? `uint8 tag\n${next}\nfloat64 v\n` : `${next}\n`;
  };
  const blocks = [level(0)];
  for (let i = 1; i <= depth; i++) blocks.push(`MSG: ${DEEP_PACKAGE}/S${i}\n${level(i)}`);
  return { name: `${DEEP_PACKAGE}/msg/S0`, text: blocks.join(`${SEP}\n`) };
}

/** `S0 { S1 a; S1 b }`, …: 2^depth int32 leaves from a few hundred bytes of text. `sequences` makes the fields `S1[] a` etc. */
export function doublingSchema(depth: number, options: { sequences?: boolean } = {}): { name: string; text: string } {
  const array = options.sequences === true ? '[]' : '';
  const level = (i: number): string => (i === depth ? 'int32 x\n' : `${DEEP_PACKAGE}/S${i + 1}${array} a\n${DEEP_PACKAGE}/S${i + 1}${array} b\n`);
  const blocks = [level(0)];
  for (let i = 1; i <= depth; i++) blocks.push(`MSG: ${DEEP_PACKAGE}/S${i}\n${level(i)}`);
  return { name: `${DEEP_PACKAGE}/msg/S0`, text: blocks.join(`${SEP}\n`) };
}

/** A message of `sequenceChainSchema(depth, { mixed: true })`: one element per level, two at every 7th. */
export function mixedChainMessage(depth: number, i = 0): Record<string, unknown> {
  if (i === depth) return { x: -1000 - i, name: `leaf ${i}` };
  const children = i % 7 === 3 ? 2 : 1;
  return { tag: i, c: Array.from({ length: children }, () => mixedChainMessage(depth, i + 1)), v: i + 0.25 };
}

/** The columnar fast path: ros2msg schemas compiled to CDR → Arrow column decoders. */
export { ColumnarCdrTableBuilder, type ColumnarBuilderOptions } from './table-builder.ts';
export { compileColumnarCdr, type ColumnarProgram } from './program.ts';
export { CdrEncapsulationError, isLittleEndianCdr } from './encapsulation.ts';
export { CdrTruncatedError } from './host.ts';
export { ColumnarLayoutError } from './layout.ts';
export { comparableValue, tableDifference } from './compare.ts';

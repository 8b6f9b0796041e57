/**
 * The HNSW graph of a similarity index (hnswlib-node): vectors by integer label, grown as
 * recordings are added, labels of replaced recordings marked deleted, written to and read
 * from hnswlib's own file format. The one place hnswlib is touched.
 */
import hnswlib from 'hnswlib-node';

/**
 * Links per node and candidate list size while building, measured in bench/similarity.ts (40
 * features): efConstruction 200 → 64 took 50k windows from 7.2k to 21k windows/s at the same
 * recall; on 500k windows it builds 13.7k windows/s at recall@10 0.995, where M 12 with
 * efConstruction 48 gains a fifth in speed but drops recall to 0.957.
 */
export const GRAPH_M = 16;
export const GRAPH_EF_CONSTRUCTION = 64;
const SEED = 42;

export class WindowGraph {
  readonly dims: number;
  readonly #index: hnswlib.HierarchicalNSW;
  #live = 0;

  private constructor(dims: number, index: hnswlib.HierarchicalNSW, live: number) {
    this.dims = dims;
    this.#index = index;
    this.#live = live;
  }

  static create(dims: number, capacity: number, m = GRAPH_M, efConstruction = GRAPH_EF_CONSTRUCTION): WindowGraph {
    const index = new hnswlib.HierarchicalNSW('l2', dims);
    index.initIndex(Math.max(16, capacity), m, efConstruction, SEED);
    return new WindowGraph(dims, index, 0);
  }

  /** The graph in hnswlib's file at `path`, holding `live` labels that are not deleted. */
  static read(path: string, dims: number, live: number): WindowGraph {
    const index = new hnswlib.HierarchicalNSW('l2', dims);
    index.readIndexSync(path);
    return new WindowGraph(dims, index, live);
  }

  /** Labels that searches can answer. */
  get size(): number {
    return this.#live;
  }

  add(vector: number[], label: number): void {
    const capacity = this.#index.getMaxElements();
    if (this.#index.getCurrentCount() >= capacity) this.#index.resizeIndex(Math.max(16, capacity * 2));
    this.#index.addPoint(vector, label);
    this.#live += 1;
  }

  delete(label: number): void {
    this.#index.markDelete(label);
    this.#live -= 1;
  }

  vectorOf(label: number): number[] {
    return this.#index.getPoint(label);
  }

  /** Up to `k` labels nearest `vector`, by ascending Euclidean distance. */
  nearest(vector: number[], k: number): { label: number; distance: number }[] {
    const count = Math.min(k, this.#live);
    if (count === 0) return [];
    this.#index.setEf(Math.max(64, count * 4));
    const found = this.#index.searchKnn(vector, count);
    // hnswlib's l2 space answers squared distances.
    return found.neighbors.map((label, i) => ({ label, distance: Math.sqrt(found.distances[i]!) })).sort((a, b) => a.distance - b.distance);
  }

  write(path: string): void {
    this.#index.writeIndexSync(path);
  }
}

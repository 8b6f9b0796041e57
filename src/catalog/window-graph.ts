/**
 * The HNSW graph of a similarity index (hnswlib-node): vectors by integer label, grown as
 * recordings are added, labels of replaced recordings marked deleted, written to and read
 * from hnswlib's own file format. The one place hnswlib is touched.
 */
import hnswlib from 'hnswlib-node';

/**
 * Links per node, candidate list size while building and while searching, measured on 500k
 * windows of 40 features (bench/similarity.ts and hnswlib alone, 2026-12-04): M 16 with
 * efConstruction 64 built 19.8k windows/s in hnswlib (recall@10 0.985 at ef 64); efConstruction
 * 40 builds 26k/s, and searching with ef 128 instead of 64 brings its recall from 0.956 back to
 * 0.980 for 0.003 ms more per search. M 12 builds faster still but stays under 0.965.
 */
export const GRAPH_M = 16;
export const GRAPH_EF_CONSTRUCTION = 40;
const SEARCH_EF = 128;
const SEED = 42;

export class WindowGraph {
  readonly dims: number;
  readonly #index: hnswlib.HierarchicalNSW;
  #live = 0;
  /** Labels ever added and room for them, kept here rather than asked of hnswlib on every add. */
  #count: number;
  #capacity: number;

  private constructor(dims: number, index: hnswlib.HierarchicalNSW, live: number) {
    this.dims = dims;
    this.#index = index;
    this.#live = live;
    this.#count = index.getCurrentCount();
    this.#capacity = index.getMaxElements();
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
    if (this.#count >= this.#capacity) {
      this.#capacity = Math.max(16, this.#capacity * 2);
      this.#index.resizeIndex(this.#capacity);
    }
    this.#index.addPoint(vector, label);
    this.#count += 1;
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
    this.#index.setEf(Math.max(SEARCH_EF, count * 4));
    const found = this.#index.searchKnn(vector, count);
    // hnswlib's l2 space answers squared distances.
    return found.neighbors.map((label, i) => ({ label, distance: Math.sqrt(found.distances[i]!) })).sort((a, b) => a.distance - b.distance);
  }

  write(path: string): void {
    this.#index.writeIndexSync(path);
  }
}

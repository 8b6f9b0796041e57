import type { Prng } from './prng.ts';

// A 16-beam spinning lidar (VLP-16-like elevation fan) sampled at 256 azimuths per turn.
export const LIDAR_RINGS = 16;
export const LIDAR_COLUMNS = 256;
export const LIDAR_POINTS = LIDAR_RINGS * LIDAR_COLUMNS;
/** x, y, z, intensity as float32. */
export const LIDAR_POINT_STEP = 16;

const FIRST_ELEVATION_RAD = (-15 * Math.PI) / 180;
const ELEVATION_STEP_RAD = (2 * Math.PI) / 180;
const RANGE_NOISE_M = 0.01;
const INTENSITY_NOISE = 2;

// Closed rectangular room around the figure-eight (which spans x ±8 m, y ±4 m), so every beam
// hits something and the cloud can stay dense.
const ROOM = { xMin: -12, xMax: 12, yMin: -7.5, yMax: 7.5, height: 3.2 } as const;
const PILLARS = [
  { x: 0, y: 5.6, r: 0.35 },
  { x: 10.4, y: 0, r: 0.3 },
  { x: -10.4, y: -3, r: 0.3 },
] as const;
// Per-surface reflectivity, scaled by the cosine of the incidence angle.
const REFLECTIVITY = { wallX: 90, wallY: 70, floor: 35, ceiling: 55, pillar: 200 } as const;

/**
 * Ray-casts one full revolution from the sensor pose into a reused buffer. The returned view is
 * only valid until the next call.
 */
export class LidarScanner {
  readonly #data = new Uint8Array(LIDAR_POINTS * LIDAR_POINT_STEP);
  readonly #points = new Float32Array(this.#data.buffer);
  readonly #ringCos = new Float64Array(LIDAR_RINGS);
  readonly #ringSin = new Float64Array(LIDAR_RINGS);
  readonly #prng: Prng;

  constructor(prng: Prng) {
    this.#prng = prng;
    for (let r = 0; r < LIDAR_RINGS; r++) {
      const elevation = FIRST_ELEVATION_RAD + r * ELEVATION_STEP_RAD;
      this.#ringCos[r] = Math.cos(elevation);
      this.#ringSin[r] = Math.sin(elevation);
    }
  }

  /** (ox, oy, oz) is the sensor origin in the room frame, yaw its heading. */
  scan(ox: number, oy: number, oz: number, yaw: number): Uint8Array {
    const prng = this.#prng;
    const pts = this.#points;
    const cy = Math.cos(yaw);
    const sy = Math.sin(yaw);
    // Real spinning sensors do not start each turn at exactly the same azimuth.
    const azimuthStep = (2 * Math.PI) / LIDAR_COLUMNS;
    const phase = prng.next() * azimuthStep;
    let p = 0;
    for (let col = 0; col < LIDAR_COLUMNS; col++) {
      const az = phase + col * azimuthStep;
      const ca = Math.cos(az);
      const sa = Math.sin(az);
      for (let ring = 0; ring < LIDAR_RINGS; ring++) {
        const ce = this.#ringCos[ring] ?? 1;
        const lx = ce * ca;
        const ly = ce * sa;
        const lz = this.#ringSin[ring] ?? 0;
        const wx = cy * lx - sy * ly;
        const wy = sy * lx + cy * ly;
        const hit = castRay(ox, oy, oz, wx, wy, lz);
        const range = hit.t + prng.gaussian(RANGE_NOISE_M);
        const intensity = Math.round(hit.reflectivity * hit.cosIncidence + prng.gaussian(INTENSITY_NOISE));
        pts[p] = range * lx;
        pts[p + 1] = range * ly;
        pts[p + 2] = range * lz;
        pts[p + 3] = intensity < 0 ? 0 : intensity > 255 ? 255 : intensity;
        p += 4;
      }
    }
    return this.#data;
  }
}

interface Hit {
  t: number;
  reflectivity: number;
  cosIncidence: number;
}

const hit: Hit = { t: 0, reflectivity: 0, cosIncidence: 0 };

// Returns a shared object to avoid one allocation per ray; callers read it immediately.
function castRay(ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): Hit {
  let best = Infinity;
  let refl = 0;
  let cosInc = 1;
  if (dx !== 0) {
    const t = ((dx > 0 ? ROOM.xMax : ROOM.xMin) - ox) / dx;
    if (t > 0 && t < best) {
      best = t;
      refl = REFLECTIVITY.wallX;
      cosInc = Math.abs(dx);
    }
  }
  if (dy !== 0) {
    const t = ((dy > 0 ? ROOM.yMax : ROOM.yMin) - oy) / dy;
    if (t > 0 && t < best) {
      best = t;
      refl = REFLECTIVITY.wallY;
      cosInc = Math.abs(dy);
    }
  }
  if (dz !== 0) {
    const t = ((dz > 0 ? ROOM.height : 0) - oz) / dz;
    if (t > 0 && t < best) {
      best = t;
      refl = dz > 0 ? REFLECTIVITY.ceiling : REFLECTIVITY.floor;
      cosInc = Math.abs(dz);
    }
  }
  const a = dx * dx + dy * dy;
  if (a > 0) {
    for (const pillar of PILLARS) {
      const px = ox - pillar.x;
      const py = oy - pillar.y;
      const b = px * dx + py * dy;
      const c = px * px + py * py - pillar.r * pillar.r;
      const disc = b * b - a * c;
      if (disc <= 0) continue;
      const t = (-b - Math.sqrt(disc)) / a;
      if (t > 0 && t < best) {
        const nx = (px + t * dx) / pillar.r;
        const ny = (py + t * dy) / pillar.r;
        best = t;
        refl = REFLECTIVITY.pillar;
        cosInc = Math.abs(nx * dx + ny * dy);
      }
    }
  }
  hit.t = best;
  hit.reflectivity = refl;
  hit.cosIncidence = cosInc;
  return hit;
}

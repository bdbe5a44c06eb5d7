// The engines this process has loaded, for code that must stay synchronous (describing a driver
// error): an error of a store can only come after its engine was loaded to talk to it.
import type { Engine } from '../config/schema.js';
import type { EngineSpec } from './spec.js';

const loaded = new Map<Engine, EngineSpec>();

export function rememberEngine(spec: EngineSpec): void {
  loaded.set(spec.engine, spec);
}

export function loadedEngine(engine: Engine): EngineSpec | undefined {
  return loaded.get(engine);
}

export function loadedEngines(): EngineSpec[] {
  return [...loaded.values()];
}

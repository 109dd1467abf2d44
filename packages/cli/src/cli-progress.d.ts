// The part of cli-progress 3.12 the CLI uses. The package ships no types; @types/cli-progress
// would replace this file.
declare module "cli-progress" {
  export interface Options {
    format?: string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean | null;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    barsize?: number;
    fps?: number;
  }
  export interface Preset {
    format?: string;
    barCompleteChar?: string;
    barIncompleteChar?: string;
  }
  export class SingleBar {
    constructor(options: Options, preset?: Preset);
    start(total: number, startValue: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    stop(): void;
  }
  const cliProgress: {
    SingleBar: typeof SingleBar;
    Presets: { shades_classic: Preset; rect: Preset; legacy: Preset };
  };
  export default cliProgress;
}

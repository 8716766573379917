/** What the bench ran on, printed first and stored with the figures. */
import os from 'node:os';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly memoryGb: number;
  /** 1-minute load average at the start: other processes skew absolute figures, not ratios. */
  readonly loadAvg: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAvg: os.loadavg()[0] ?? 0,
  };
}
